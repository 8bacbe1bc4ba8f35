package projections

import (
	"fmt"

	"crm/aggregates"
	"crm/readmodels"
)

// describeCashAudit describes a lead-to-cash event (catalog, quote,
// order, target and forecast) into d; it reports whether ev is one.
func describeCashAudit(ev Event, d *auditDescription) bool {
	c := &d.changes
	switch e := ev.Domain.(type) {
	case aggregates.ProductCreatedEvent:
		d.entityType, d.entityID = readmodels.AuditProduct, e.ProductID
		d.summary = auditSummary("Product created: %s (%s)", e.Name, e.SKU)
		c.set("sku", e.SKU)
		c.set("name", e.Name)
		c.set("unit", e.Unit)
		c.set("active", e.Active)
	case aggregates.ProductActivationChangedEvent:
		d.entityType, d.entityID = readmodels.AuditProduct, e.ProductID
		d.summary = auditSummary("Product %s", map[bool]string{true: "activated", false: "deactivated"}[e.Active])
		c.change("active", e.From, e.Active)
	case aggregates.PriceBookCreatedEvent:
		d.entityType, d.entityID = readmodels.AuditPriceBook, e.PriceBookID
		d.summary = auditSummary("Price book created: %s", e.Name)
		c.set("name", e.Name)
	case aggregates.PriceBookPriceSetEvent:
		d.entityType, d.entityID = readmodels.AuditPriceBook, e.PriceBookID
		d.summary = auditSummary("Price of product %s set to %s %s", e.ProductID, e.Price, e.Currency)
		c.change(fmt.Sprintf("prices.%s.%s", e.ProductID, e.Currency), e.FromPrice, e.Price)
	case aggregates.QuoteDraftedEvent:
		d.entityType, d.entityID = readmodels.AuditQuote, e.QuoteID
		d.summary = auditSummary("Quote drafted: version 1, %s %s", e.Total, e.Currency)
		c.set("opportunity_id", e.OpportunityID)
		describeQuoteContent(c, e.QuoteContent)
	case aggregates.QuoteRevisedEvent:
		d.entityType, d.entityID = readmodels.AuditQuote, e.QuoteID
		d.summary = auditSummary("Quote revised: version %d, %s %s", e.Version, e.Total, e.Currency)
		c.change("version", e.Version-1, e.Version)
		describeQuoteContent(c, e.QuoteContent)
	case aggregates.QuoteApprovalRequestedEvent:
		d.entityType, d.entityID = readmodels.AuditQuote, e.QuoteID
		d.summary = auditSummary("Approval %s requested: %s", e.ApprovalID, e.Reason)
		c.change("approval_status", nil, aggregates.ApprovalPending)
	case aggregates.QuoteApprovalGrantedEvent:
		d.entityType, d.entityID = readmodels.AuditQuote, e.QuoteID
		d.summary = auditSummary("%s", withText("Approval "+e.ApprovalID+" granted", e.Note))
		c.change("approval_status", aggregates.ApprovalPending, aggregates.ApprovalApproved)
	case aggregates.QuoteApprovalRejectedEvent:
		d.entityType, d.entityID = readmodels.AuditQuote, e.QuoteID
		d.summary = auditSummary("Approval %s rejected: %s", e.ApprovalID, e.Reason)
		c.change("approval_status", aggregates.ApprovalPending, aggregates.ApprovalRejected)
	case aggregates.QuoteSentEvent:
		d.entityType, d.entityID = readmodels.AuditQuote, e.QuoteID
		d.summary = auditSummary("Quote version %d sent", e.Version)
		c.change("status", aggregates.QuoteDrafted, aggregates.QuoteSent)
	case aggregates.QuoteAcceptedEvent:
		d.entityType, d.entityID = readmodels.AuditQuote, e.QuoteID
		d.summary = auditSummary("Quote version %d accepted: %s %s", e.Version, e.Total, e.Currency)
		c.change("status", aggregates.QuoteSent, aggregates.QuoteAccepted)
		c.set("accepted_version", e.Version)
	case aggregates.OpportunityQuoteAcceptedEvent:
		d.entityType, d.entityID = readmodels.AuditOpportunity, e.OpportunityID
		d.summary = auditSummary("Quote %s version %d accepted: %s %s", e.QuoteID, e.QuoteVersion, e.Amount, e.Currency)
		c.set("accepted_quote_id", e.QuoteID)
		c.set("accepted_quote_version", e.QuoteVersion)
	case aggregates.OrderCreatedEvent:
		d.entityType, d.entityID = readmodels.AuditOrder, e.OrderID
		d.summary = auditSummary("Order created: %s %s in %d installment(s)", e.Total, e.Currency, len(e.Installments))
		c.set("opportunity_id", e.OpportunityID)
		c.set("account_id", e.AccountID)
		c.set("owner_id", e.OwnerID)
		c.set("quote_id", e.QuoteID)
		c.set("quote_version", e.QuoteVersion)
		c.set("currency", e.Currency)
		c.set("total", e.Total)
		c.set("plan_kind", e.PlanKind)
		for _, in := range e.Installments {
			c.set(fmt.Sprintf("installments.%d.due_date", in.Number), in.DueDate)
			c.set(fmt.Sprintf("installments.%d.amount", in.Number), in.Amount)
		}
	case aggregates.OrderPaymentRecordedEvent:
		d.entityType, d.entityID = readmodels.AuditOrder, e.OrderID
		d.summary = auditSummary("%s", withText(fmt.Sprintf("Payment of %s %s recorded (paid %s)", e.Amount, e.Currency, e.PaidOn), e.Reference))
		c.set("payment_id", e.PaymentID)
		c.set("amount", e.Amount)
		c.set("paid_on", e.PaidOn)
		c.set("reference", e.Reference)
		for _, a := range e.Allocations {
			c.set(fmt.Sprintf("installments.%d.paid", a.Installment), a.Amount)
		}
	case aggregates.OrderCancelledEvent:
		d.entityType, d.entityID = readmodels.AuditOrder, e.OrderID
		d.summary = auditSummary("Order cancelled: %s", e.Reason)
		c.change("status", aggregates.OrderOpen, aggregates.OrderCancelled)
		c.set("reason", e.Reason)
	case aggregates.OrderCollectionRemindedEvent:
		d.entityType, d.entityID = readmodels.AuditOrder, e.OrderID
		d.summary = auditSummary("Installment %d (%s %s due %s) is %d days overdue: owner %s reminded", e.Installment, e.Outstanding, e.Currency,
			e.DueDate, e.DaysOverdue, e.OwnerID)
		c.change(fmt.Sprintf("installments.%d.reminded", e.Installment), false, true)
		c.set("owner_id", e.OwnerID)
	case aggregates.OrderCollectionEscalatedEvent:
		d.entityType, d.entityID = readmodels.AuditOrder, e.OrderID
		d.summary = auditSummary("Installment %d (%s %s due %s) is %d days overdue: escalated to manager %s", e.Installment, e.Outstanding, e.Currency,
			e.DueDate, e.DaysOverdue, e.ManagerID)
		c.change(fmt.Sprintf("installments.%d.escalated", e.Installment), false, true)
		c.set("owner_id", e.OwnerID)
		c.set("manager_id", e.ManagerID)
	case aggregates.SalesTargetSetEvent:
		d.entityType, d.entityID = readmodels.AuditForecast, ev.StreamID[len(readmodels.AuditForecast)+1:]
		d.summary = auditSummary("Target of %s for %s set to %s %s", e.OwnerID, e.Period, e.Amount, e.Currency)
		c.set("owner_id", e.OwnerID)
		c.set("period", e.Period)
		c.change("target", e.FromAmount, e.Amount)
		if e.FromCurrency != e.Currency {
			c.change("currency", e.FromCurrency, e.Currency)
		}
	case aggregates.ForecastAdjustedEvent:
		d.entityType, d.entityID = readmodels.AuditForecast, ev.StreamID[len(readmodels.AuditForecast)+1:]
		d.summary = auditSummary("Forecast of %s for %s adjusted to %s %s: %s", e.OwnerID, e.Period, e.Amount, e.Currency, e.Reason)
		c.set("owner_id", e.OwnerID)
		c.set("period", e.Period)
		c.change("adjusted_forecast", e.FromAmount, e.Amount)
		c.set("reason", e.Reason)
	default:
		return false
	}
	return true
}

// describeQuoteContent records a quote version's fields.
func describeQuoteContent(c *auditChanges, q aggregates.QuoteContent) {
	c.set("price_book_id", q.PriceBookID)
	c.set("currency", q.Currency)
	c.set("valid_until", q.ValidUntil)
	for i, l := range q.Lines {
		p := fmt.Sprintf("lines.%d.", i+1)
		c.set(p+"product_id", l.ProductID)
		c.set(p+"quantity", l.Quantity)
		c.set(p+"unit_price", l.UnitPrice)
		c.set(p+"discount_percent", l.DiscountPercent)
		c.set(p+"line_total", l.LineTotal)
	}
	c.set("subtotal", q.Subtotal)
	c.set("discount_total", q.DiscountTotal)
	c.set("total", q.Total)
	c.set("payment_plan", q.PaymentPlan.Kind)
}
