#!/usr/bin/env bash
# Builds the offline log path (manifests/components/logging-offline):
#   demo-micro-airgap/opensearch:$OPENSEARCH_VERSION   the Elasticsearch stand-in: OpenSearch's
#       integ-test distribution from Maven Central (no security plugin) on Debian's OpenJDK 17;
#   demo-micro-airgap/log-shipper:$RSYSLOG_VERSION     the node-level shipper: Debian's rsyslog
#       with imfile (tails /var/log/pods) and omelasticsearch (bulk API, which OpenSearch speaks).
# Each image is built once per version: an existing tag is kept unless REBUILD is set. The
# OpenSearch zip is cached under $DEMO_MICRO_CACHE/maven, so a failed image build resumes
# without fetching it again; the zip, fetched or cached, is checked against its pinned SHA-512.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh" logging

"$here/build-debian-base.sh" >/dev/null

ctx=$(mktemp -d /var/tmp/logging.XXXXXX)
trap 'rm -rf "$ctx"' EXIT

opensearch_image="demo-micro-airgap/opensearch:$OPENSEARCH_VERSION"
# The zip matches versions.env's OPENSEARCH_ZIP_SHA512, or the build stops before unpacking it.
verify_zip() {
  local zip=$1 expected=${OPENSEARCH_ZIP_SHA512:?versions.env sets no OPENSEARCH_ZIP_SHA512} actual
  actual=$(sha512sum "$zip" | cut -d' ' -f1)
  if [ "$actual" != "$expected" ]; then
    {
      echo "build-logging.sh: $zip has SHA-512 $actual,"
      echo "  not versions.env's OPENSEARCH_ZIP_SHA512 $expected: refusing to unpack it."
      echo "  Clear the cached download (and Maven's local copy) and build again:"
      echo "  rm -rf '$(dirname "$zip")' ~/.m2/repository/org/opensearch/distribution/integ-test-zip/opensearch/$OPENSEARCH_VERSION"
    } >&2
    exit 1
  fi
}
if present "$opensearch_image"; then
  step "$opensearch_image present"
else
  # integ-test-zip: the minimal distribution (core plus transport-netty4), no JDK, no plugins.
  zip="$cache/maven/opensearch-$OPENSEARCH_VERSION/opensearch-$OPENSEARCH_VERSION.zip"
  if [ ! -f "$zip.complete" ]; then
    step "fetching org.opensearch.distribution.integ-test-zip:opensearch:$OPENSEARCH_VERSION (Maven Central)"
    command -v mvn >/dev/null || { echo "build-logging.sh: mvn missing: apt-get install maven" >&2; exit 1; }
    mkdir -p "$(dirname "$zip")"
    mvn -q -B dependency:copy \
      "-Dartifact=org.opensearch.distribution.integ-test-zip:opensearch:$OPENSEARCH_VERSION:zip" \
      "-DoutputDirectory=$(dirname "$zip")"
    verify_zip "$zip"
    touch "$zip.complete"
  fi
  verify_zip "$zip"  # a cached copy too: the cache outlives any one run
  cp -r "$here/opensearch" "$ctx/opensearch"
  (cd "$ctx/opensearch" && python3 -m zipfile -e "$zip" . && mv "opensearch-$OPENSEARCH_VERSION" opensearch)
  # zipfile keeps no modes: the launchers must be executable.
  chmod 0755 "$ctx/opensearch/opensearch/bin/"* "$ctx/opensearch/docker-entrypoint.sh"
  build "$opensearch_image" "$ctx/opensearch"
fi

shipper_image="demo-micro-airgap/log-shipper:$RSYSLOG_VERSION"
if present "$shipper_image"; then
  step "$shipper_image present"
else
  build "$shipper_image" "$here/log-shipper" --build-arg "RSYSLOG_VERSION=$RSYSLOG_VERSION"
fi
step "logging images ready"
