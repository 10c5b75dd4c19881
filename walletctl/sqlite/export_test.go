package sqlite

// SchemaV1 is the first schema, which kept full card and ID numbers (the migration test builds an
// old wallet with it).
var SchemaV1 = migrations[0].SQL
