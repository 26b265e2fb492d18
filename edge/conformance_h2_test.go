package edge_test

import "testing"

// TestConformanceOverHTTP2 reruns the conformance table with every
// request sent by Go's HTTP/2 client to the edge's net/http front, served
// by net/http's HTTP/2 server over TLS (ALPN h2) as on the node's TLS
// port: the same behaviours must hold over h2.
func TestConformanceOverHTTP2(t *testing.T) {
	for _, tt := range []struct {
		name string
		test func(*testing.T)
	}{
		{"NoCacheIsStoredAndRevalidated", TestNoCacheIsStoredAndRevalidated},
		{"NotModifiedRefreshesFreshness", TestNotModifiedRefreshesFreshness},
		{"OneRevalidationForManyViewers", TestOneRevalidationForManyViewers},
		{"MustRevalidateNeverServedStale", TestMustRevalidateNeverServedStale},
		{"NoFreshnessInformationRevalidates", TestNoFreshnessInformationRevalidates},
		{"HeuristicFreshnessFromLastModified", TestHeuristicFreshnessFromLastModified},
		{"SMaxAgeOverMaxAge", TestSMaxAgeOverMaxAge},
		{"ExpiresMinusDate", TestExpiresMinusDate},
		{"AgeFromOriginPlusResidentTime", TestAgeFromOriginPlusResidentTime},
		{"VaryIsASecondaryKey", TestVaryIsASecondaryKey},
		{"VaryStarNeverMatches", TestVaryStarNeverMatches},
		{"StatusesCacheableByDefault", TestStatusesCacheableByDefault},
		{"StaleIfError", TestStaleIfError},
		{"StaleWhileRevalidate", TestStaleWhileRevalidate},
		{"CDNCacheControlAndTargetedHeader", TestCDNCacheControlAndTargetedHeader},
		{"OriginHeadersPassThrough", TestOriginHeadersPassThrough},
		{"UnsafeMethodsPassAndInvalidate", TestUnsafeMethodsPassAndInvalidate},
		{"AuthorizationNotSharedUnlessAllowed", TestAuthorizationNotSharedUnlessAllowed},
		{"PrivateAndSetCookieNeverShared", TestPrivateAndSetCookieNeverShared},
		{"NoStorePassesThroughWithDigest", TestNoStorePassesThroughWithDigest},
		{"QueryInCacheKey", TestQueryInCacheKey},
		{"MediaTTLsBoundTheOrigin", TestMediaTTLsBoundTheOrigin},
		{"QualifiedPrivateAndNoCacheDropTheirFields", TestQualifiedPrivateAndNoCacheDropTheirFields},
		{"ApparentAgeFromDate", TestApparentAgeFromDate},
		{"ViewerCacheControlDoesNotReachTheOrigin", TestViewerCacheControlDoesNotReachTheOrigin},
	} {
		t.Run(tt.name, tt.test)
	}
}
