// Package strictjson decodes request bodies the way the HTTP contract
// promises: one JSON object, valid UTF-8, no duplicate keys, field names
// matched case-sensitively, no unknown fields, no strings PostgreSQL text
// cannot store (NUL). Every refusal is an *Error naming the offending field
// so that callers can answer with a problem naming it.
//
// It imports nothing of ours: the api package and the workflows that
// decode their own bodies share it.
package strictjson
