// Package csvimport reads the CSV files of an import: a header row, data
// rows, and a mapping from the file's columns to the fields of the
// records to create. It knows nothing of storing them.
package csvimport
