package workflows

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"crm/aggregates"
	"crm/commands"
	"crm/workflows/scheduler"
)

// Lead-to-cash automation names.
const (
	// AutoOrder turns a won deal's accepted quote into its order.
	AutoOrder = "order"
	// AutoCollections reminds and escalates overdue installments.
	AutoCollections = "collections"
)

// Managers finds a user's manager. It is the one place collections
// escalations are routed; "" means no manager is known.
type Managers interface {
	ManagerOf(ctx context.Context, userID string) (string, error)
}

// NoManagers knows no manager: escalations carry the owner only.
type NoManagers struct{}

// ManagerOf returns "".
func (NoManagers) ManagerOf(context.Context, string) (string, error) { return "", nil }

// CollectionPolicy configures the collections automation.
type CollectionPolicy struct {
	// ReminderDays is how many days after its due date an unpaid
	// installment is reminded to the deal's owner (default
	// aggregates.DefaultReminderDays, 3).
	ReminderDays int
	// EscalationDays is how many days after the reminder it is escalated
	// to the owner's manager (default aggregates.DefaultEscalationDays, 7).
	EscalationDays int
	// Managers routes escalations (default NoManagers).
	Managers Managers
}

// withDefaults fills the policy's zero fields.
func (p CollectionPolicy) withDefaults() CollectionPolicy {
	if p.ReminderDays <= 0 {
		p.ReminderDays = aggregates.DefaultReminderDays
	}
	if p.EscalationDays <= 0 {
		p.EscalationDays = aggregates.DefaultEscalationDays
	}
	if p.Managers == nil {
		p.Managers = NoManagers{}
	}
	return p
}

// cash holds the lead-to-cash automations.
type cash struct {
	*Automations
	policy CollectionPolicy
}

// RegisterLeadToCash adds the order and collections automations to b and
// the collections deadlines' handler to d: a deal won with an accepted
// quote gets exactly one order (its id derived from the opportunity), and
// each installment of an order gets two durable deadlines, a reminder
// ReminderDays after its due date and an escalation EscalationDays after
// that, which act only if the installment is still unpaid then.
func RegisterLeadToCash(b *Backbone, d Deadlines, reads Reads, p CollectionPolicy) {
	c := &cash{Automations: &Automations{pool: b.pool, reads: reads, bus: b, deadlines: d}, policy: p.withDefaults()}
	b.AddAutomation(automation{name: AutoOrder, handle: c.order})
	b.AddAutomation(automation{name: AutoCollections, handle: c.collectionsSchedule})
	d.Handle(AutoCollections, c.collectionsFire)
}

func (c *cash) order(ctx context.Context, ev Event) error {
	e, ok := ev.Domain.(aggregates.OpportunityStageChangedEvent)
	if !ok || e.To != aggregates.StageClosedWon {
		return nil
	}
	opp, _, err := c.reads.CurrentOpportunity(ctx, e.OpportunityID, ev.Version)
	if err != nil || opp.AcceptedQuote == nil {
		return err
	}
	return c.bus.Send(ctx, &commands.CreateOrder{Envelope: envelope(AutoOrder, causeOf(ev), ""), OrderID: commands.OrderID(e.OpportunityID),
		OpportunityID: e.OpportunityID})
}

// Collection steps, as a deadline's target "<installment>:<step>".
const (
	stepReminder   = "reminder"
	stepEscalation = "escalation"
)

func (c *cash) collectionsSchedule(ctx context.Context, ev Event) error {
	e, ok := ev.Domain.(aggregates.OrderCreatedEvent)
	if !ok {
		return nil
	}
	for _, in := range e.Installments {
		due, err := time.Parse(time.DateOnly, in.DueDate)
		if err != nil {
			return fmt.Errorf("order %s installment %d: %w", e.OrderID, in.Number, err)
		}
		remind := due.AddDate(0, 0, c.policy.ReminderDays)
		escalate := remind.AddDate(0, 0, c.policy.EscalationDays)
		for _, s := range []struct {
			step string
			at   time.Time
		}{{stepReminder, remind}, {stepEscalation, escalate}} {
			p := deadlinePayload{cause: causeOf(ev), EntityID: e.OrderID, Target: strconv.Itoa(in.Number) + ":" + s.step}
			if err := c.schedule(ctx, AutoCollections, s.at, p); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *cash) collectionsFire(ctx context.Context, d scheduler.Deadline) error {
	p, err := payloadOf(d)
	if err != nil {
		return err
	}
	num, step, _ := strings.Cut(p.Target, ":")
	n, err := strconv.Atoi(num)
	if err != nil {
		return fmt.Errorf("collections deadline %s: %w", d.ID, err)
	}
	cmd := &commands.RemindCollection{Envelope: envelope(AutoCollections, p.cause, d.ID), OrderID: p.EntityID, Installment: n,
		MinDaysOverdue: c.policy.ReminderDays}
	if step == stepEscalation {
		order, _, err := c.reads.CurrentOrder(ctx, p.EntityID, 0)
		if err != nil {
			return err
		}
		manager, err := c.policy.Managers.ManagerOf(ctx, order.OwnerID)
		if err != nil {
			return fmt.Errorf("manager of %s: %w", order.OwnerID, err)
		}
		cmd.Escalate, cmd.ManagerID, cmd.MinDaysOverdue = true, manager, c.policy.ReminderDays+c.policy.EscalationDays
	}
	return c.bus.Send(ctx, cmd)
}
