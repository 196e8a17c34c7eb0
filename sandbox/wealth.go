package sandbox

import "time"

// holdings gives a customer one to three positions (three for the first customer, so the demo
// shows every product type), each settled to the customer's debit card.
func (g *generator) holdings(c *customer, products []product, first bool) []holding {
	n := 1 + g.rng.IntN(3)
	if first {
		n = 3
	}
	today := time.Date(g.now.Year(), g.now.Month(), g.now.Day(), 0, 0, 0, 0, cst)
	out := make([]holding, 0, n)
	seen := map[string]bool{}
	for _, i := range g.rng.Perm(len(products)) {
		p := &products[i]
		if len(out) == n {
			break
		}
		if first && seen[p.kind] {
			continue
		}
		seen[p.kind] = true
		out = append(out, g.position(c, p, today))
	}
	return out
}

// position makes one holding of p bought within its term (so it has not matured yet).
func (g *generator) position(c *customer, p *product, today time.Time) holding {
	days := 30 + g.rng.IntN(400)
	if p.termDays > 1 {
		days = 1 + g.rng.IntN(p.termDays-1)
	}
	bought := today.AddDate(0, 0, -days)
	cost := fen(g.between(1, 20) * 10000_00)
	if cost < p.minAmount {
		cost = p.minAmount + fen(g.between(0, 5)*10000_00)
	}
	h := holding{product: p, accountID: c.accounts[0].id, cost: cost, purchasedOn: bought.Format(time.DateOnly)}
	if p.termDays > 0 {
		h.maturesOn = bought.AddDate(0, 0, p.termDays).Format(time.DateOnly)
	}
	if p.kind == "fund" {
		// Bought at a net asset value up to 2.5% per risk grade below today's, or up to 1.5
		// times that above it (a loss): an R2 bond fund moves less than an R5 equity fund.
		spread := 250 * int64(p.risk[1]-'0')
		navBought := p.nav * (10000 + g.between(-spread, spread*3/2)) / 10000
		h.shares = int64(cost) * 10000 / navBought
		h.marketValue = fen(h.shares * p.nav / 10000)
		return h
	}
	// Deposits and wealth products: one share per yuan, value accrues at the expected yield.
	h.shares = int64(cost)
	h.marketValue = cost + fen(int64(cost)*p.yieldBP*int64(days)/(365*10000))
	return h
}
