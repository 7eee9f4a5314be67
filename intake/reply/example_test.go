package reply_test

import (
	"fmt"

	"github.com/postdesk/postdesk/intake/reply"
)

func ExampleTrim() {
	body := "Yes, it works again.\r\n\r\nSent from my iPhone\r\n\r\n" +
		"Am 12.03.2024 um 10:15 schrieb Example Desk <support@desk.example.com>:\r\n\r\n" +
		"> " + reply.Separator + "\r\n> Ticket #42 was updated.\r\n"
	visible, elided := reply.Trim(body)
	fmt.Printf("%q\n", visible)
	fmt.Println(elided)
	// Output:
	// "Yes, it works again."
	// Sent from my iPhone
	//
	// Am 12.03.2024 um 10:15 schrieb Example Desk <support@desk.example.com>:
	//
	// > ##- Please type your reply above this line -##
	// > Ticket #42 was updated.
}

func ExampleExtractEmbedded() {
	before, embedded := reply.ExtractEmbedded("FYI\n\n---------- Forwarded message ---------\n" +
		"From: Jane <jane@example.com>\nDate: Tue, Mar 12, 2024\nSubject: Printer\n\nIt is on fire.")
	fmt.Println(before)
	fmt.Println("--")
	fmt.Println(embedded)
	// Output:
	// FYI
	// --
	// From: Jane <jane@example.com>
	// Date: Tue, Mar 12, 2024
	// Subject: Printer
	//
	// It is on fire.
}
