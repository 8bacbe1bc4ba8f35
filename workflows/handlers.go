package workflows

import "github.com/ThreeDotsLabs/watermill/components/cqrs"

// AddCommands exposes the commands the automations issue on b's bus.
func AddCommands(b *Backbone, h CommandHandlers) error {
	return b.AddCommandHandlers(
		cqrs.NewCommandHandler("AssignLead", h.AssignLead),
		cqrs.NewCommandHandler("ScoreLead", h.ScoreLead),
		cqrs.NewCommandHandler("RequestApproval", h.RequestApproval),
		cqrs.NewCommandHandler("OpenTicket", h.OpenTicket),
		cqrs.NewCommandHandler("ChangeTicketPriority", h.ChangeTicketPriority),
		cqrs.NewCommandHandler("BreachTicketSLA", h.BreachTicketSLA),
		cqrs.NewCommandHandler("RequestSurvey", h.RequestSurvey),
		cqrs.NewCommandHandler("RemindOverdue", h.RemindOverdue),
		cqrs.NewCommandHandler("CreateOrder", h.CreateOrder),
		cqrs.NewCommandHandler("RemindCollection", h.RemindCollection),
		cqrs.NewCommandHandler("RemindTask", h.RemindTask),
	)
}
