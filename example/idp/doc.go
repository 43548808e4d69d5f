// Package idp is the example's stand-in for a team's identity provider: the
// service that checks who someone is and hands out the JWTs the team's apps
// accept. It is not part of sessionguard, and a real application does not
// copy it: it has its own provider (its own service, Auth0, Keycloak, …).
//
// What it shows is the shape such a provider has, which is what the tenant
// app is wired against: tokens signed with the provider's own EdDSA key, with
// the provider's own claim names (the user id in "uid", the tenant in "tid",
// no "sid"), its issuer in "iss", the app's client id in "aud", and the
// public key published as
// a JWKS document. The tenant app holds no private key: it verifies tokens
// through the JWKS URL, as it would those of any provider.
//
// The key is made when the Provider is, so tokens do not outlive a restart
// of the example.
package idp
