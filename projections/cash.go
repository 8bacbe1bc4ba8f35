package projections

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"crm/aggregates"
	"crm/readmodels"
)

// Cash projects the lead-to-cash tables of readmodels.CashSchema: the
// opportunities' forecast figures, sales targets, forecast adjustments,
// orders with their installments, and payments. Apply queues one
// statement per event in a pgx.Batch, so a batch of events costs one
// round trip.
type Cash struct{}

// NewCash returns the lead-to-cash projector.
func NewCash() *Cash { return &Cash{} }

// Name implements Projector: "cash".
func (*Cash) Name() string { return readmodels.CashProjector }

// Setup implements Projector: it creates the lead-to-cash tables.
func (*Cash) Setup(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, readmodels.CashSchema); err != nil {
		return fmt.Errorf("create cash tables: %w", err)
	}
	return nil
}

// Apply implements Projector.
func (*Cash) Apply(ctx context.Context, tx pgx.Tx, events []Event) error {
	var b pgx.Batch
	for _, ev := range events {
		queueCash(&b, ev)
	}
	if b.Len() == 0 {
		return nil
	}
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		return fmt.Errorf("cash: %w", err)
	}
	return nil
}

// queueCash queues the statements of one event.
func queueCash(b *pgx.Batch, ev Event) {
	switch e := ev.Domain.(type) {
	case aggregates.OpportunityOpenedEvent:
		b.Queue(`INSERT INTO cash_opportunities (id, owner_id, stage, amount, currency, expected_close_date)
VALUES ($1, $2, $3, $4::numeric, $5, $6::date) ON CONFLICT (id) DO NOTHING`, e.OpportunityID, e.OwnerID, e.Stage, e.Amount, e.Currency, e.ExpectedCloseDate)
	case aggregates.OpportunityStageChangedEvent:
		var closed *time.Time
		if aggregates.IsClosedStage(e.To) {
			at := e.ChangedAt.UTC()
			closed = &at
		}
		b.Queue(`UPDATE cash_opportunities SET stage = $2, closed_at = $3 WHERE id = $1`, e.OpportunityID, e.To, closed)
	case aggregates.OpportunityReopenedEvent:
		b.Queue(`UPDATE cash_opportunities SET stage = $2, closed_at = NULL WHERE id = $1`, e.OpportunityID, e.ToStage)
	case aggregates.OpportunityAmountChangedEvent:
		b.Queue(`UPDATE cash_opportunities SET amount = $2::numeric, currency = $3 WHERE id = $1`, e.OpportunityID, e.Amount, e.Currency)
	case aggregates.OpportunityQuoteAcceptedEvent:
		b.Queue(`UPDATE cash_opportunities SET amount = $2::numeric, currency = $3 WHERE id = $1`, e.OpportunityID, e.Amount, e.Currency)
	case aggregates.OpportunityCloseDateChangedEvent:
		b.Queue(`UPDATE cash_opportunities SET expected_close_date = $2::date WHERE id = $1`, e.OpportunityID, e.To)
	case aggregates.SalesTargetSetEvent:
		b.Queue(`INSERT INTO cash_targets (owner_id, period, amount, currency) VALUES ($1, $2, $3::numeric, $4)
ON CONFLICT (owner_id, period) DO UPDATE SET amount = EXCLUDED.amount, currency = EXCLUDED.currency`, e.OwnerID, e.Period, e.Amount, e.Currency)
	case aggregates.ForecastAdjustedEvent:
		b.Queue(`INSERT INTO cash_adjustments (owner_id, period, position, amount, currency, reason, actor, adjusted_at)
VALUES ($1, $2, $3, $4::numeric, $5, $6, $7, $8) ON CONFLICT DO NOTHING`, e.OwnerID, e.Period, ev.Cursor.String(), e.Amount, e.Currency,
			e.Reason, ev.Metadata.Actor, e.AdjustedAt.UTC())
	case aggregates.OrderCreatedEvent:
		b.Queue(`INSERT INTO cash_orders (id, opportunity_id, owner_id, currency, total, created_on)
VALUES ($1, $2, $3, $4, $5::numeric, $6::date) ON CONFLICT (id) DO NOTHING`, e.OrderID, e.OpportunityID, e.OwnerID, e.Currency, e.Total,
			e.CreatedAt.UTC().Format(time.DateOnly))
		for _, in := range e.Installments {
			b.Queue(`INSERT INTO cash_installments (order_id, number, due_date, amount) VALUES ($1, $2, $3::date, $4::numeric)
ON CONFLICT DO NOTHING`, e.OrderID, in.Number, in.DueDate, in.Amount)
		}
	case aggregates.OrderPaymentRecordedEvent:
		b.Queue(`INSERT INTO cash_payments (payment_id, order_id, amount, paid_on) VALUES ($1, $2, $3::numeric, $4::date)`,
			e.PaymentID, e.OrderID, e.Amount, e.PaidOn)
		for _, a := range e.Allocations {
			b.Queue(`UPDATE cash_installments SET paid = paid + $3::numeric WHERE order_id = $1 AND number = $2`, e.OrderID, a.Installment, a.Amount)
		}
	case aggregates.OrderCancelledEvent:
		b.Queue(`UPDATE cash_orders SET cancelled = true WHERE id = $1`, e.OrderID)
	}
}
