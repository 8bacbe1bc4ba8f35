// Package openapi reads the API's OpenAPI 3.1 document and checks JSON
// against it: request bodies and query parameters before a handler runs
// (every invalid field at once), and responses in the HTTP tests (a status,
// content type or member the document does not declare).
//
// It implements the part of JSON Schema the document uses: type (one or a
// list), properties, required, additionalProperties, items, minItems,
// maxItems, enum, const, allOf, oneOf, anyOf, if/then/else, minLength, maxLength (in
// characters), pattern, minimum, maximum, exclusiveMinimum and the formats
// uuid, date-time, date, email and uri. Object schemas that list
// properties are closed: a member they do not list is an error unless
// additionalProperties admits it.
package openapi
