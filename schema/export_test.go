package schema

// MigrateList and NoTransaction let the external tests run Migrate's
// locking with migrations of their own, such as one outside a transaction.
var MigrateList = migrate

const NoTransaction = noTransaction
