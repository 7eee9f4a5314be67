package groupcommit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// recorder is a GroupFunc and AloneFunc over ints that records the groups
// it ran and the items it did alone.
type recorder struct {
	mu     sync.Mutex
	groups [][]int
	alone  []int
	// holdAlone holds the items done alone until their channel is closed;
	// enteredAlone receives them as they start.
	holdAlone    map[int]chan struct{}
	enteredAlone chan int
	// leave marks items the group leaves out; fail fails every group.
	leave func(int) bool
	fail  error
	// deadline is the group context's deadline, of the last group.
	deadline time.Time
	ctxErr   error
}

func (r *recorder) group(ctx context.Context, items []int) ([]int, []bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.groups = append(r.groups, slices.Clone(items))
	r.deadline, _ = ctx.Deadline()
	r.ctxErr = ctx.Err()
	if r.fail != nil {
		return nil, nil, r.fail
	}
	res, alone := make([]int, len(items)), make([]bool, len(items))
	for i, it := range items {
		res[i] = it * 10
		alone[i] = r.leave != nil && r.leave(it)
	}
	return res, alone, nil
}

func (r *recorder) one(_ context.Context, item int) (int, error) {
	if r.enteredAlone != nil {
		select {
		case r.enteredAlone <- item:
		default:
		}
	}
	if h := r.holdAlone[item]; h != nil {
		<-h
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.alone = append(r.alone, item)
	if item < 0 {
		return 0, errors.New("bad item")
	}
	return item * 100, nil
}

func TestOneMemberTurnsGroupCommitOff(t *testing.T) {
	r := &recorder{}
	if c := New(Options{MaxMembers: 1}, r.group, r.one); c != nil {
		t.Fatal("MaxMembers 1 still groups")
	}
	if c := New(Options{}, r.group, r.one); c == nil {
		t.Fatal("group commit is off by default")
	}
}

// Together runs the items as one group; those the group leaves out, and
// every item of a group that fails, are done alone.
func TestTogetherFallsBackToAlone(t *testing.T) {
	r := &recorder{leave: func(i int) bool { return i == 2 }}
	c := New(Options{}, r.group, r.one)
	res, errs := c.Together(context.Background(), []int{1, 2, 3, -4})
	if errors.Join(errs...) != nil || !slices.Equal(res, []int{10, 200, 30, -40}) {
		t.Fatalf("results %v, errors %v", res, errs)
	}
	if len(r.groups) != 1 || !slices.Equal(r.alone, []int{2}) {
		t.Fatalf("groups %v, alone %v", r.groups, r.alone)
	}

	r = &recorder{fail: errors.New("rolled back")}
	c = New(Options{}, r.group, r.one)
	res, errs = c.Together(context.Background(), []int{1, -2})
	if !slices.Equal(res, []int{100, 0}) || errs[0] != nil || errs[1] == nil {
		t.Fatalf("after a failed group: results %v, errors %v", res, errs)
	}
	if !slices.Equal(r.alone, []int{1, -2}) {
		t.Fatalf("alone %v, want both", r.alone)
	}

	r = &recorder{}
	c = New(Options{}, r.group, r.one)
	if res, _ := c.Together(context.Background(), []int{5}); res[0] != 500 || len(r.groups) != 0 {
		t.Fatalf("a lone item: %v, groups %v", res, r.groups)
	}
}

// With no group under way a lone item goes at once, alone, and holds its
// slot meanwhile; the items that arrive while MaxGroups groups run wait and
// form the next groups, of at most MaxMembers each, and a last lone item
// goes alone.
func TestItemsThatWaitFormTheNextGroups(t *testing.T) {
	hold := make(chan struct{})
	r := &recorder{holdAlone: map[int]chan struct{}{0: hold}, enteredAlone: make(chan int, 1)}
	c := New(Options{MaxMembers: 3, MaxGroups: 1}, r.group, r.one)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	do := func(i int) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if res, err := c.Do(ctx, i); err != nil || (res != i*10 && res != i*100) {
				errs <- fmt.Errorf("item %d: %d, %v", i, res, err)
			}
		}()
	}
	do(0)
	if got := <-r.enteredAlone; got != 0 {
		t.Fatalf("alone first: %d", got)
	}
	for i := 10; i < 17; i++ {
		do(i)
	}
	// Wait (on state, not on time) until all seven wait behind item 0.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.mu.Lock()
		n := len(c.waiting)
		c.mu.Unlock()
		if n == 7 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d items waiting, want 7", n)
		}
		time.Sleep(time.Millisecond)
	}
	close(hold)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// The seven arrived in no set order: two groups of three, one alone.
	var all []int
	for _, g := range r.groups {
		all = append(all, g...)
	}
	if len(r.groups) != 2 || len(r.groups[0]) != 3 || len(r.groups[1]) != 3 || len(r.alone) != 2 || r.alone[0] != 0 {
		t.Fatalf("groups %v, alone %v; want two groups of 3, then item 0 and one more alone", r.groups, r.alone)
	}
	all = append(all, r.alone[1])
	slices.Sort(all)
	if !slices.Equal(all, []int{10, 11, 12, 13, 14, 15, 16}) {
		t.Fatalf("items done: %v", all)
	}
}

// A group's context ends at its earliest member's deadline and is not
// cancelled with any one member: a commit under way is finished.
func TestGroupContextKeepsTheEarliestDeadline(t *testing.T) {
	r := &recorder{}
	c := New(Options{}, r.group, r.one)
	soon := time.Now().Add(time.Hour)
	ctx, cancel := context.WithDeadline(context.Background(), soon)
	defer cancel()
	later, cancelLater := context.WithDeadline(context.Background(), soon.Add(time.Hour))
	defer cancelLater()
	batch := []*member[int, int]{newMember[int, int](later, 1), newMember[int, int](ctx, 2)}
	go c.run(batch)
	for i, m := range batch {
		if res, err := c.wait(m); err != nil || res != (i+1)*10 {
			t.Fatalf("item %d: %d, %v", i+1, res, err)
		}
	}
	if !r.deadline.Equal(soon) || r.ctxErr != nil {
		t.Fatalf("group deadline %v (err %v), want %v", r.deadline, r.ctxErr, soon)
	}

	r = &recorder{}
	c = New(Options{}, r.group, r.one)
	gone, cancelGone := context.WithCancel(context.Background())
	cancelGone()
	if _, errs := c.Together(gone, []int{1, 2}); errors.Join(errs...) != nil || r.ctxErr != nil {
		t.Fatalf("a cancelled member cancelled its group: %v, %v", errs, r.ctxErr)
	}
}
