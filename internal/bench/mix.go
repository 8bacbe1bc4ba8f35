package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"crm/commands"
)

// client posts commands to the server under test as one API key.
type client struct {
	base string
	key  string
	hc   *http.Client
}

func newClient(addr, key string, conns int) *client {
	tr := &http.Transport{MaxIdleConns: 2 * conns, MaxIdleConnsPerHost: 2 * conns, IdleConnTimeout: time.Minute}
	return &client{base: "http://" + addr, key: key, hc: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
}

// reply is the part of a command response the bench reads.
type reply struct {
	ID            string `json:"id"`
	ApprovalID    string `json:"approval_id"`
	Position      string `json:"position"`
	AccountID     string `json:"account_id"`
	OpportunityID string `json:"opportunity_id"`
}

// post sends a command and decodes its response; any status but 200 or
// 201 is an error naming the command and quoting the body.
func (c *client) post(ctx context.Context, path string, body any) (reply, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return reply{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(b))
	if err != nil {
		return reply{}, err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return reply{}, fmt.Errorf("POST %s: %w", path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, fmt.Errorf("POST %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		return reply{}, fmt.Errorf("POST %s: status %d: %s", path, resp.StatusCode, raw)
	}
	var r reply
	if err := json.Unmarshal(raw, &r); err != nil {
		return reply{}, fmt.Errorf("POST %s: decode %s: %w", path, raw, err)
	}
	return r, nil
}

// exists reports whether GET path answers 200 (false on 404).
func (c *client) exists(ctx context.Context, path string) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	resp, err := c.hc.Do(req)
	if err != nil {
		return false, fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	switch resp.StatusCode {
	case http.StatusOK:
		return true, nil
	case http.StatusNotFound:
		return false, nil
	}
	return false, fmt.Errorf("GET %s: status %d", path, resp.StatusCode)
}

// captureLead captures a lead with a unique email.
func (c *client) captureLead(ctx context.Context, tag string) (reply, error) {
	return c.post(ctx, "/v1/leads", map[string]any{"name": "Ada " + tag, "company": "Engines " + tag,
		"email": "ada." + tag + "@example.com", "phone": "+44 20 7946 0958", "source": "webinar", "campaign": "2026-q1",
		"region": "EMEA", "industry": "manufacturing", "company_size": "51-200"})
}

// mixSteps is how many commands one pass of the mix posts.
const mixSteps = 15

// mix is one worker's walk through a sale, its cash and a support case:
// capture a lead, log a contact attempt, qualify and convert it (with an
// opportunity), move the deal through two stages, draft, send and accept
// a quote, win the deal (the order automation turns the quote into an
// order with three installments), record a payment on the previous
// pass's order, open a ticket on the new account, assign it, answer it
// and resolve it. Each call of step posts the next command.
type mix struct {
	c      *client
	run    string
	worker int
	pass   int
	step   int
	lead   string
	opp    string
	acct   string
	ticket string
	quote  string
	// book and product are the worker's catalog, made before its first
	// quote (not measured); paidFor is the opportunity whose order the
	// next payment settles.
	book, product string
	paidFor       string
	// agent is the user the worker's tickets are assigned to, registered
	// before its first assignment (not timed).
	agent string
	// lat holds each kind of command's latencies (see mixKinds).
	lat [mixSteps][]time.Duration
}

// mixKinds names the mix's steps, in order.
var mixKinds = [mixSteps]string{"capture lead", "contact attempt", "qualify", "convert", "stage qualification",
	"stage proposal", "draft quote", "send quote", "accept quote", "win", "record payment",
	"open ticket", "assign ticket", "answer ticket", "resolve ticket"}

// orderWait bounds how long a payment waits for the order of a deal won
// a pass before (the automation creates it from the log).
const orderWait = 30 * time.Second

// catalog makes the worker's product and price book.
func (m *mix) catalog(ctx context.Context) error {
	p, err := m.c.post(ctx, "/v1/products", map[string]any{"sku": fmt.Sprintf("ENG-%s-%d", m.run, m.worker), "name": "Engine licence", "unit": "seat"})
	if err != nil {
		return err
	}
	b, err := m.c.post(ctx, "/v1/price-books", map[string]any{"name": "Bench " + m.run})
	if err != nil {
		return err
	}
	if _, err := m.c.post(ctx, "/v1/price-books/"+b.ID+"/prices", map[string]any{"product_id": p.ID, "price": "12500.00", "currency": "EUR"}); err != nil {
		return err
	}
	m.book, m.product = b.ID, p.ID
	return nil
}

// awaitOrder waits until the order of opportunity opp exists.
func (m *mix) awaitOrder(ctx context.Context, opp string) error {
	deadline := time.Now().Add(orderWait)
	for {
		ok, err := m.c.exists(ctx, "/v1/opportunities/"+opp+"/order")
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no order for won opportunity %s after %s: the payments need the order automation (serve without --automations=false)", opp, orderWait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// next posts the mix's next command.
func (m *mix) next(ctx context.Context) error {
	if m.step == 6 && m.book == "" {
		if err := m.catalog(ctx); err != nil {
			return err
		}
	}
	record := true
	if m.step == 10 && m.paidFor == "" {
		// The first pass pays its own deal's order once the automation
		// has made it, and that payment is not measured; every later
		// pass pays the order of the deal the pass before won.
		m.paidFor, record = m.opp, false
		if err := m.awaitOrder(ctx, m.paidFor); err != nil {
			return err
		}
	}
	if m.step == 12 && m.agent == "" {
		r, err := m.c.post(ctx, "/v1/users", map[string]any{"name": "Support Agent",
			"email": fmt.Sprintf("agent.%s.%d@example.com", m.run, m.worker), "team": "support"})
		if err != nil {
			return err
		}
		m.agent = r.ID
	}
	var (
		r     reply
		err   error
		start = time.Now()
	)
	switch m.step {
	case 0:
		m.pass++
		r, err = m.c.captureLead(ctx, fmt.Sprintf("%s.%d.%d", m.run, m.worker, m.pass))
		m.lead = r.ID
	case 1:
		_, err = m.c.post(ctx, "/v1/leads/"+m.lead+"/contact-attempts", map[string]any{"channel": "call", "outcome": "reached"})
	case 2:
		_, err = m.c.post(ctx, "/v1/leads/"+m.lead+"/qualify", map[string]any{"note": "budget confirmed"})
	case 3:
		r, err = m.c.post(ctx, "/v1/leads/"+m.lead+"/convert", map[string]any{"opportunity": map[string]any{
			"name": "Engines 2027", "amount": "125000.00", "currency": "EUR", "expected_close_date": "2027-03-31"}})
		m.opp, m.acct = r.OpportunityID, r.AccountID
	case 4:
		_, err = m.c.post(ctx, "/v1/opportunities/"+m.opp+"/stage", map[string]any{"stage": "qualification"})
	case 5:
		_, err = m.c.post(ctx, "/v1/opportunities/"+m.opp+"/stage", map[string]any{"stage": "proposal", "note": "sent"})
	case 6:
		r, err = m.c.post(ctx, "/v1/opportunities/"+m.opp+"/quotes", map[string]any{"price_book_id": m.book, "currency": "EUR",
			"valid_until": "2099-12-31", "lines": []map[string]any{{"product_id": m.product, "quantity": "10", "discount_percent": "10"}},
			"payment_plan": map[string]any{"kind": "installments", "count": 3, "net_days": 30}})
		m.quote = r.ID
	case 7:
		_, err = m.c.post(ctx, "/v1/quotes/"+m.quote+"/send", map[string]any{})
	case 8:
		_, err = m.c.post(ctx, "/v1/quotes/"+m.quote+"/accept", map[string]any{})
	case 9:
		_, err = m.c.post(ctx, "/v1/opportunities/"+m.opp+"/stage", map[string]any{"stage": "closed_won"})
	case 10:
		if err = m.awaitOrder(ctx, m.paidFor); err == nil {
			start = time.Now()
			_, err = m.c.post(ctx, "/v1/orders/"+commands.OrderID(m.paidFor)+"/payments", map[string]any{"amount": "37500.00", "currency": "EUR",
				"paid_on": "2027-01-15", "reference": "bench"})
		}
		m.paidFor = m.opp
	case 11:
		r, err = m.c.post(ctx, "/v1/tickets", map[string]any{"subject": "Cannot log in", "description": "since the upgrade",
			"account_id": m.acct, "priority": "normal", "channel": "email"})
		m.ticket = r.ID
	case 12:
		_, err = m.c.post(ctx, "/v1/tickets/"+m.ticket+"/assign", map[string]any{"assignee_id": m.agent})
	case 13:
		_, err = m.c.post(ctx, "/v1/tickets/"+m.ticket+"/responses", map[string]any{"body": "We are looking into it."})
	case 14:
		_, err = m.c.post(ctx, "/v1/tickets/"+m.ticket+"/resolve", map[string]any{"resolution": "Password reset."})
	}
	if err == nil && record {
		m.lat[m.step] = append(m.lat[m.step], time.Since(start))
	}
	m.step = (m.step + 1) % mixSteps
	return err
}

// KindFigure is one kind of command's latency in the command phase.
type KindFigure struct {
	Kind     string  `json:"kind"`
	Commands int     `json:"commands"`
	P50ms    float64 `json:"p50_ms"`
	P99ms    float64 `json:"p99_ms"`
}

// kindFigures merges the mixes' latencies by kind.
func kindFigures(mixes []*mix) []KindFigure {
	out := make([]KindFigure, 0, mixSteps)
	for k, name := range mixKinds {
		var s Sample
		for _, m := range mixes {
			s.Latencies = append(s.Latencies, m.lat[k]...)
		}
		if len(s.Latencies) == 0 {
			continue
		}
		slices.Sort(s.Latencies)
		out = append(out, KindFigure{Kind: name, Commands: len(s.Latencies), P50ms: Millis(s.Percentile(0.5)), P99ms: Millis(s.Percentile(0.99))})
	}
	return out
}

// resetLatencies forgets what the mixes measured so far (the warm-up).
func resetLatencies(mixes []*mix) {
	for _, m := range mixes {
		m.lat = [mixSteps][]time.Duration{}
	}
}
