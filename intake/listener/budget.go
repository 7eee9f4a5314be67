package listener

import (
	"errors"
	"io"
	"sync"

	"github.com/emersion/go-smtp"
)

// The memory budget bounds what the mails being taken in at once may cost.
// A mail costs about memoryPerByte times its size while it is read, parsed
// and stored (measured on 24 MiB mails: the raw bytes, the parser's
// working copy and the decoded parts); small mails cost next to nothing.
// A mail that does not fit is answered 451 4.3.1, at MAIL FROM when it
// declares its SIZE, else when its data reaches the limit: the sender keeps
// it and tries again later, when the mails before it are stored, instead
// of the process growing until the kernel kills it.
const memoryPerByte = 4

// budgetStep rounds what a mail takes of the budget.
const budgetStep = 16 << 10

var errBudget = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 1},
	Message: "Too much mail in progress, please try again later"}

// Budget is a count of bytes that sessions take and give back; listeners
// given the same Budget share it.
type Budget struct {
	mu    sync.Mutex
	limit int64 // <= 0: no limit
	used  int64
	// onUse, when set, hears of every change of used, in order; serve
	// moves the Go runtime's soft memory limit with it.
	onUse func(used int64)
}

func (b *Budget) take(n int64) bool {
	if b == nil || b.limit <= 0 || n <= 0 {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used+n > b.limit {
		return false
	}
	b.used += n
	if b.onUse != nil {
		b.onUse(b.used)
	}
	return true
}

func (b *Budget) give(n int64) {
	if b == nil || b.limit <= 0 || n <= 0 {
		return
	}
	b.mu.Lock()
	b.used -= n
	if b.onUse != nil {
		b.onUse(b.used)
	}
	b.mu.Unlock()
}

// NewBudget returns a budget of limit bytes (<= 0: no limit); onUse, when
// not nil, is told the bytes in use after each change, under the budget's
// lock (it must be quick).
func NewBudget(limit int64, onUse func(used int64)) *Budget {
	return &Budget{limit: limit, onUse: onUse}
}

// fits reports whether n more would fit now (without taking them).
func (b *Budget) fits(n int64) bool {
	if b == nil || b.limit <= 0 {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used+n <= b.limit
}

// Used is the part of the budget taken now.
func (b *Budget) Used() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// reservation is one mail's part of the budget.
type reservation struct {
	b     *Budget
	taken int64
}

// grow makes the reservation cover a mail of size bytes.
func (r *reservation) grow(size int64) bool {
	need := size * memoryPerByte
	if need <= r.taken {
		return true
	}
	// Take in steps, so that a mail read in small pieces asks rarely.
	need = (need + budgetStep - 1) / budgetStep * budgetStep
	if !r.b.take(need - r.taken) {
		return false
	}
	r.taken = need
	return true
}

func (r *reservation) release() {
	r.b.give(r.taken)
	r.taken = 0
}

// readMail reads a mail's data into one buffer of its size, keeping the
// reservation at memoryPerByte times what has been read (and the next
// chunk): a client that declares a big SIZE and then trickles its data
// holds only what it has sent. A mail that declared its SIZE is read into a
// buffer of that size (pages not yet written cost no memory; it grows only
// if the client said too little); one that did not is read in chunks,
// joined at the end, so that no buffer of twice its size is ever held.
func readMail(r io.Reader, declared, max int64, res *reservation) ([]byte, error) {
	if declared <= 0 {
		return readChunks(r, res)
	}
	// A SIZE is an estimate (line ends counted before they become CR LF,
	// the CR LF put before the final dot): room for a little more, so
	// that an honest client's mail is never copied into a bigger buffer.
	n := min(declared, max)
	n += n/32 + 4<<10
	buf := make([]byte, 0, n)
	for {
		if len(buf) == cap(buf) {
			bigger := make([]byte, len(buf), 2*cap(buf))
			copy(bigger, buf)
			buf = bigger
		}
		window := min(cap(buf), len(buf)+chunkSize)
		if !res.grow(int64(window)) {
			return nil, errBudget
		}
		m, err := r.Read(buf[len(buf):window])
		buf = buf[:len(buf)+m]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// maxReservation is what one mail of at most max bytes may hold of the
// budget: its size with the room readMail adds, and a chunk.
func maxReservation(max int64) int64 {
	return memoryPerByte * (max + max/32 + 4<<10 + chunkSize)
}

// chunkSize is the piece a mail without SIZE is read in.
const chunkSize = 256 << 10

func readChunks(r io.Reader, res *reservation) ([]byte, error) {
	var chunks [][]byte
	total := int64(0)
	for {
		if !res.grow(total + chunkSize) {
			return nil, errBudget
		}
		size := int64(chunkSize)
		if len(chunks) == 0 {
			size = 4 << 10 // most mails are small
		}
		c := make([]byte, size)
		m, err := io.ReadFull(r, c)
		total += int64(m)
		chunks = append(chunks, c[:m])
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if len(chunks) == 1 {
		return chunks[0], nil
	}
	buf := make([]byte, 0, total)
	for _, c := range chunks {
		buf = append(buf, c...)
	}
	return buf, nil
}
