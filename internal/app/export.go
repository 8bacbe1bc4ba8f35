package app

import (
	"context"
	"errors"
	"io"

	"crm/api"
	"crm/eventstore"
	"crm/internal/eventexport"
)

// Exporter writes the log as rows (internal/eventexport), with a column
// for every top-level data field of the codec's event types. It
// implements api.EventExport.
type Exporter struct {
	log    eventexport.Log
	fields []string
}

// NewExporter returns an exporter of log whose flattened columns are the
// fields of codec's types.
func NewExporter(log eventexport.Log, codec *eventstore.Registry) (*Exporter, error) {
	fields, err := eventexport.FieldsOf(codec.Types(), codec.Decode)
	if err != nil {
		return nil, err
	}
	return &Exporter{log: log, fields: fields}, nil
}

// Fields are the flattened data fields, without their prefix.
func (e *Exporter) Fields() []string { return e.fields }

// Options returns export options for format over f with the exporter's
// columns.
func (e *Exporter) Options(format string, f eventexport.Filter) eventexport.Options {
	return eventexport.Options{Format: format, Filter: f, Fields: e.fields}
}

// Write exports with o (its Fields default to the exporter's).
func (e *Exporter) Write(ctx context.Context, w io.Writer, o eventexport.Options) (eventexport.Stats, error) {
	if o.Fields == nil {
		o.Fields = e.fields
	}
	return eventexport.Write(ctx, w, e.log, o)
}

// ExportEvents implements api.EventExport.
func (e *Exporter) ExportEvents(ctx context.Context, w io.Writer, q api.ExportQuery) error {
	after, err := eventstore.ParseCursor(q.After)
	if err != nil {
		return api.ErrBadPosition
	}
	f := eventexport.Filter{After: after, Types: q.Types}
	if q.From != nil {
		f.From = *q.From
	}
	if q.To != nil {
		f.To = *q.To
	}
	_, err = e.Write(ctx, w, e.Options(q.Format, f))
	if errors.Is(err, eventstore.ErrInvalidCursor) {
		return api.ErrBadPosition
	}
	return err
}
