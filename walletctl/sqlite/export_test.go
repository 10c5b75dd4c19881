package sqlite

// SchemaV1 is the first schema, which kept full card and ID numbers (the migration test builds an
// old wallet with it).
var SchemaV1 = migrations[0].SQL

// OpenTraced is Open with f called with the text of every statement the store prepares (each
// text once per connection).
func OpenTraced(path string, f func(q string)) (*Store, error) { return openTraced(path, Options{}, f) }
