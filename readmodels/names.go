package readmodels

// The read models, by the name of the projector that builds each one. A
// projector's tables live in the schema SchemaName(name); these constants
// are the only spelling of those names.
const (
	// ListsProjector builds the entity lists (ListsSchema).
	ListsProjector = "lists"
	// AuditProjector builds the audit timeline (AuditSchema).
	AuditProjector = "audit"
	// ReportsProjector builds the reporting tables (ReportsSchema).
	ReportsProjector = "reports"
)

// SchemaPrefix starts the name of every read-model schema.
const SchemaPrefix = "rm_"

// The live schemas of the read models.
const (
	// ListsSchemaName is the schema of the entity lists.
	ListsSchemaName = SchemaPrefix + ListsProjector
	// AuditSchemaName is the schema of the audit timeline.
	AuditSchemaName = SchemaPrefix + AuditProjector
	// ReportsSchemaName is the schema of the reporting tables.
	ReportsSchemaName = SchemaPrefix + ReportsProjector
)

// SchemaName is the live schema of the projector called name.
func SchemaName(name string) string { return SchemaPrefix + name }
