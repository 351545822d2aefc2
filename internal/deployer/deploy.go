package deployer

import (
	"context"
	"fmt"
	"io"
)

// Options configure [Deploy].
type Options struct {
	// DryRun prints the plan and changes nothing.
	DryRun bool
	// Waits bounds the waits for Active functions and warm versions.
	Waits Waits
}

// Deploy observes, plans and (unless opts.DryRun) applies every function
// of fns, printing the plan first and each action as it is done. api
// returns the client for a region. It stops at the first function that
// fails; what was done stays done and a re-run continues from there.
func Deploy(ctx context.Context, api func(region string) (SCFAPI, error), fns []Desired, opts Options, out io.Writer) error {
	type item struct {
		d    Desired
		cur  Current
		plan []Action
		api  SCFAPI
	}
	var items []item
	total := 0
	for _, d := range fns {
		for _, w := range d.Warnings {
			fmt.Fprintf(out, "warning: %s\n", w)
		}
		c, err := api(d.Region)
		if err != nil {
			return err
		}
		cur, err := Observe(ctx, c, d)
		if err != nil {
			return err
		}
		plan := Plan(d, cur)
		total += len(plan)
		items = append(items, item{d, cur, plan, c})
	}
	fmt.Fprintln(out, "plan:")
	for _, it := range items {
		where := fmt.Sprintf("%s (%s/%s, alias %s", it.d.Name, it.d.Region, it.d.Namespace, it.d.Alias)
		if it.cur.AliasVersion != "" {
			where += " -> version " + it.cur.AliasVersion
		}
		where += ")"
		if len(it.plan) == 0 {
			fmt.Fprintf(out, "  %s: no changes\n", where)
			continue
		}
		fmt.Fprintf(out, "  %s:\n", where)
		for _, a := range it.plan {
			fmt.Fprintf(out, "    - %s\n", a)
		}
	}
	if total == 0 {
		fmt.Fprintln(out, "no changes")
		return nil
	}
	if opts.DryRun {
		fmt.Fprintf(out, "dry run: %d changes not applied\n", total)
		return nil
	}
	for _, it := range items {
		if len(it.plan) == 0 {
			continue
		}
		_, err := Apply(ctx, it.api, it.d, it.cur, it.plan, opts.Waits, func(a Action, detail string) {
			if detail != "" {
				detail = " (" + detail + ")"
			}
			fmt.Fprintf(out, "done: %s: %s%s\n", it.d.Name, a.Kind, detail)
		})
		if err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "deployed: %d changes\n", total)
	return nil
}
