package ticket

// ReplySeparator is the line postdesk puts above the quoted text of its
// notices: whatever a client quotes from it downwards is our own notice.
// The notices print it and the intake cuts replies at it, so it lives with
// the domain that both depend on.
const ReplySeparator = "##- Please type your reply above this line -##"
