package ticket_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/postdesk/postdesk/ticket"
)

// DepartmentAndAgents is DepartmentByID and DepartmentAgents in one
// statement: same department, same active agents in the same order.
func TestDepartmentAndAgents(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	pool := f.store.Pool()
	// A second Help Desk agent, and one who left: the list is ordered by
	// name and leaves out inactive agents.
	org := testOrg
	org.Agents = append(slices.Clone(org.Agents),
		ticket.AgentSpec{Name: "Ann Bell", Email: "ann@bank.example", Username: "ann", Active: true, Departments: []string{"Help Desk"}},
		ticket.AgentSpec{Name: "Old Timer", Email: "old@bank.example", Username: "old", Active: false, Departments: []string{"Help Desk"}})
	if err := f.store.SyncOrg(ctx, org); err != nil {
		t.Fatal(err)
	}
	for _, dep := range []ticket.Department{f.help, f.sys} {
		d, agents, err := ticket.DepartmentAndAgents(ctx, pool, dep.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantD, err := ticket.DepartmentByID(ctx, pool, dep.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantAgents, err := ticket.DepartmentAgents(ctx, pool, dep.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d.ID != wantD.ID || d.Name != wantD.Name || d.Email != wantD.Email || d.Active != wantD.Active ||
			string(d.Settings) != string(wantD.Settings) {
			t.Errorf("department %+v, want %+v", d, wantD)
		}
		if len(agents) != len(wantAgents) {
			t.Fatalf("%s: %d agents, want %d", dep.Name, len(agents), len(wantAgents))
		}
		for i, a := range agents {
			w := wantAgents[i]
			if a.ID != w.ID || a.Name != w.Name || a.Email != w.Email || a.Username != w.Username || !a.Active ||
				string(a.Secret) != string(w.Secret) || !slices.Equal(a.Departments, w.Departments) {
				t.Errorf("%s: agent %d %+v, want %+v", dep.Name, i, a, w)
			}
		}
	}
	if _, agents, _ := ticket.DepartmentAndAgents(ctx, pool, f.help.ID); len(agents) != 2 || agents[0].Name != "Ann Bell" {
		t.Errorf("Help Desk agents %+v: want Ann Bell, Ken Jay", agents)
	}
	if _, _, err := ticket.DepartmentAndAgents(ctx, pool, f.sys.ID+1000); !errors.Is(err, ticket.ErrNotFound) {
		t.Errorf("missing department: %v, want ErrNotFound", err)
	}
}
