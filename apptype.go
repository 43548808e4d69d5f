package sessionguard

// AppType says which application a session belongs to. The seed stores it in
// sessions.app_type; a session of one app type never opens routes of another.
type AppType string

const (
	ControlPanel AppType = "control_panel" // staff, the seed's default
	TenantApp    AppType = "tenant_app"    // customers, bound to one tenant
)

// Valid reports whether t is one of the app types the schema knows.
func (t AppType) Valid() bool { return t == ControlPanel || t == TenantApp }

// NoTenant is the TenantID of a session that belongs to no tenant (a
// control-panel session, for instance). Tenant ids are positive.
const NoTenant int64 = 0
