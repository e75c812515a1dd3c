# Traefik names every ACME DNS-challenge provider lego has (about 150, most with a cloud SDK)
# from one import in its ACME provider: a third of the packages in a build (2,496 with them,
# 1,649 without, `go list -deps ./cmd/traefik`, v3.6.12, 3 Dec 2026), so a third of Traefik's
# cold build, which is on CI's critical path. The testbed uses no ACME at all (the Ingress is
# plain HTTP); a DNS challenge asked of this build fails with an error naming the provider.
\|^\t"github.com/go-acme/lego/v4/providers/dns"$|d
s|provider, err = dns\.NewDNSChallengeProviderByName(p\.DNSChallenge\.Provider)|provider, err = nil, fmt.Errorf("DNS challenge provider %q: DNS providers are left out of this build", p.DNSChallenge.Provider)|
