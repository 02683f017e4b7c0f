package main

import (
	"context"
	"fmt"
	"slices"
)

// compareFlows runs each comparable flow against the pooled and the naive
// variant, and the sso flow against the floor too, one after the other,
// with the same virtual users, window and a fresh simulated Sense site
// each time.
func compareFlows(ctx context.Context, o options, p moduleParts, progress func(string, ...any)) ([]comparison, error) {
	var out []comparison
	for _, flow := range []string{flowSSO, flowLDAP} {
		if !slices.Contains(o.flows, flow) || (flow == flowLDAP && p.dir == nil) {
			continue
		}
		res := map[string]flowResult{}
		var rounds *floorRoundsResult
		if flow == flowSSO && o.floorRounds > 1 {
			fr, err := floorRounds(ctx, o.floorRounds, o.floorPhase, o.compareWindow(), p, progress)
			if err != nil {
				return out, err
			}
			res[variantPooled], res[variantFloor], res[variantWire], rounds = fr.pooled, fr.floor, fr.wire, &fr
		}
		for _, variant := range comparisonVariants(flow) {
			if _, done := res[variant]; done {
				continue
			}
			progress("comparison: %s, %s variant", flow, variant)
			r, err := runVariant(ctx, flow, variant, o.compareWindow(), p)
			if err != nil {
				return out, fmt.Errorf("comparison %s (%s): %w", flow, variant, err)
			}
			res[variant] = r
		}
		c := newComparison(flow, res[variantPooled], res[variantNaive])
		if f, ok := res[variantFloor]; ok {
			c.addFloor(f, res[variantWire])
			if rounds != nil {
				c.FloorRounds, c.FloorCPURounds, c.FloorCPURatio = rounds.ratios, rounds.cpuRatios, median(rounds.cpuRatios)
				c.WireRounds, c.WireCPURounds, c.WireCPURatio = rounds.wireRatios, rounds.wireCPURatios, median(rounds.wireCPURatios)
				c.FloorCPUOverall, c.WireCPUOverall = rounds.cpuOverall, rounds.wireOverall
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// comparisonVariants are the variants a flow is compared in, in the order
// they run. The floor and wire exist for the hand-off alone; they run right
// after pooled, so that the runs their ratios compare are as close in time
// as they can be.
func comparisonVariants(flow string) []string {
	if flow == flowSSO {
		return []string{variantPooled, variantFloor, variantWire, variantNaive}
	}
	return []string{variantPooled, variantNaive}
}

func runVariant(ctx context.Context, flow, variant string, w window, p moduleParts) (flowResult, error) {
	m, err := startInProcess(ctx, variant, p)
	if err != nil {
		return flowResult{}, err
	}
	defer func() { _ = m.stop() }()
	e := entrance{start: p.site.hubURL(), moduleURL: m.publicURL, hubShowsUser: true, floor: servedByFloor(variant), wire: variant == variantWire}
	t := runTarget{label: variant + " (in-process)", publicURL: m.publicURL, pids: toolPIDs(p.dir)}
	return measureFlow(ctx, flow, flowFor(flow, e, p.users, p.dir != nil), w, p.site, t, nil)
}

// flowFor is the flow of this name against a module started by the tool,
// each virtual user signing in as its own account. The sso flow's first
// logins use the directory when there is one: a static login's argon2id
// memory would stay in the process's RSS (Go returns freed memory to the
// system only gradually) and hide what the hand-off itself needs.
func flowFor(name string, e entrance, users []account, haveLDAP bool) flowSpec {
	static := func(i int) signIn {
		return signIn{provider: staticProviderID, directory: staticDirectory, account: users[i]}
	}
	ldap := func(i int) signIn {
		return signIn{provider: ldapProviderID, directory: ldapDirectory, account: users[i]}
	}
	switch {
	case name == flowLDAP:
		return loginFlow(name, e, ldap)
	case name == flowSSO && haveLDAP:
		return ssoFlow(e, ldap)
	case name == flowSSO:
		return ssoFlow(e, static)
	case name == flowOIDC && haveLDAP:
		return oidcFlow(e, ldap)
	case name == flowOIDC:
		return oidcFlow(e, static)
	default:
		return loginFlow(name, e, static)
	}
}
