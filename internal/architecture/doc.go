// Package architecture holds no code: its test reads the module's import
// graph (go list) and fails, naming the import, when a package breaks the
// layering of the architecture:
//
//   - aggregates imports nothing of ours, and nothing beyond the standard
//     library and uuid;
//   - readmodels imports nothing of ours;
//   - commands imports only aggregates of ours, and neither pgx, chi,
//     watermill nor the EventStoreDB client, not even indirectly;
//   - eventstore and its backends import only aggregates (for the event
//     types), eventstore's own packages and internal/pgmigrate (the
//     PostgreSQL backend's migrations);
//   - projections imports only aggregates, readmodels, the eventstore
//     contract and internal/pgmigrate (its checkpoint table's migrations);
//   - api imports neither pgx, nor an event-store backend, nor the
//     EventStoreDB client;
//   - workflows and its subpackages import only aggregates, commands, the
//     eventstore contract, internal/pgmigrate and workflows' own packages;
//   - only the composition root (internal/app) and cmd import api or an
//     event-store backend; nothing imports cmd;
//   - no package is called util, utils, common, helper or helpers.
//
// The rules hold for what a package's build contains. Test files are held
// only to "nothing imports cmd": tests build harnesses out of whatever
// they exercise (a real store, the HTTP API).
package architecture
