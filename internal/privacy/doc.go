// Package privacy owns crypto-shredding: personal data (a lead's or a
// contact's name, email and phone, and free-text notes on a lead) is
// encrypted before it enters the event store, under one AES-256-GCM data
// key per data subject (a person, identified by their email), and erasing
// the person deletes that key, so every stored copy of their data becomes
// unreadable while the events themselves stay untouched.
//
// Data keys are random 32 bytes, stored wrapped (AES-256-GCM under a
// key-encryption key derived from the master key) in crm_privacy_keys,
// keyed by a random subject id and found by a keyed hash (HMAC-SHA256 under
// a key derived from the master key) of the normalised email; the table
// never holds an email. crm_privacy_entities lists the leads and contacts
// whose data a subject's key protects.
//
// An encrypted field value is the JSON string
// "enc:v1:<subject id>:<base64 of nonce ‖ ciphertext>", with the event id
// and the field name as additional data, so a value cannot be moved to
// another event or field. Reading turns it back into the plaintext while
// the key exists and into Erased afterwards. Values written before this
// package existed are plain and read as they are.
package privacy
