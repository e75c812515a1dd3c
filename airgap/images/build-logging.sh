#!/usr/bin/env bash
# Builds the offline log path (manifests/components/logging-offline):
#   demo-micro-airgap/opensearch:$OPENSEARCH_VERSION   the Elasticsearch stand-in: OpenSearch's
#       integ-test distribution from Maven Central with its security plugin (also from Maven
#       Central) on Debian's OpenJDK 17;
#   demo-micro-airgap/log-shipper:$RSYSLOG_VERSION     the node-level shipper: Debian's rsyslog
#       with imfile (tails /var/log/pods) and omelasticsearch (bulk API, which OpenSearch speaks).
# Each image is built again when a file of its recipe or a pinned checksum changes (the image's
# dev.demo-micro.recipe label), else kept unless REBUILD is set. The zips are cached under
# $DEMO_MICRO_CACHE/maven, so a failed image build resumes without fetching them again; a zip,
# fetched or cached, is checked against its pinned SHA-512.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh" logging

"$here/build-debian-base.sh" >/dev/null

ctx=$(mktemp -d /var/tmp/logging.XXXXXX)
trap 'rm -rf "$ctx"' EXIT

# verify_zip zip pin-name m2-folder: the zip matches versions.env's pin-name, or the build stops
# before unpacking it.
verify_zip() {
  local zip=$1 pin=$2 m2=$3 expected actual
  expected=${!pin:?versions.env sets no $pin}
  actual=$(sha512sum "$zip" | cut -d' ' -f1)
  if [ "$actual" != "$expected" ]; then
    {
      echo "build-logging.sh: $zip has SHA-512 $actual,"
      echo "  not versions.env's $pin $expected: refusing to unpack it."
      echo "  Clear the cached download (and Maven's local copy) and build again:"
      echo "  rm -rf '$(dirname "$zip")' ~/.m2/repository/$m2"
    } >&2
    exit 1
  fi
}

# maven_zip group artifact version pin-name: the path of the artifact's zip in the cache, fetched
# from Maven Central once and checked against its pin every time.
maven_zip() {
  local group=$1 artifact=$2 version=$3 pin=$4 zip
  zip="$cache/maven/$artifact-$version/$artifact-$version.zip"
  if [ ! -f "$zip.complete" ]; then
    step "fetching $group:$artifact:$version (Maven Central)" >&2
    command -v mvn >/dev/null || { echo "build-logging.sh: mvn missing: apt-get install maven" >&2; exit 1; }
    mkdir -p "$(dirname "$zip")"
    mvn -q -B dependency:copy "-Dartifact=$group:$artifact:$version:zip" \
      "-DoutputDirectory=$(dirname "$zip")" >&2
    verify_zip "$zip" "$pin" "${group//.//}/$artifact/$version"
    touch "$zip.complete"
  fi
  verify_zip "$zip" "$pin" "${group//.//}/$artifact/$version"  # a cached copy too
  echo "$zip"
}

opensearch_image="demo-micro-airgap/opensearch:$OPENSEARCH_VERSION"
opensearch_recipe=$(recipe_digest "$here/opensearch" "$OPENSEARCH_ZIP_SHA512" "$OPENSEARCH_SECURITY_ZIP_SHA512")
if present_recipe "$opensearch_image" "$opensearch_recipe"; then
  step "$opensearch_image present"
else
  # integ-test-zip: the minimal distribution (core plus transport-netty4), no JDK, no plugins.
  zip=$(maven_zip org.opensearch.distribution.integ-test-zip opensearch "$OPENSEARCH_VERSION" OPENSEARCH_ZIP_SHA512)
  # A plugin is built for one OpenSearch release: $OPENSEARCH_VERSION.0 is that release's.
  security=$(maven_zip org.opensearch.plugin opensearch-security "$OPENSEARCH_VERSION.0" OPENSEARCH_SECURITY_ZIP_SHA512)
  cp -r "$here/opensearch" "$ctx/opensearch"
  (cd "$ctx/opensearch" && python3 -m zipfile -e "$zip" . && mv "opensearch-$OPENSEARCH_VERSION" opensearch)
  # The plugin laid out as `opensearch-plugin install` does, without its demo users and role
  # mappings (the entrypoint writes the store's own).
  plugin="$ctx/opensearch/opensearch/plugins/opensearch-security"
  python3 -m zipfile -e "$security" "$plugin"
  mv "$plugin/config" "$ctx/opensearch/opensearch/config/opensearch-security"
  rm "$ctx/opensearch/opensearch/config/opensearch-security/"{internal_users,roles_mapping,roles}.yml
  # zipfile keeps no modes: the launchers must be executable.
  chmod 0755 "$ctx/opensearch/opensearch/bin/"* "$plugin/tools/"*.sh "$ctx/opensearch/docker-entrypoint.sh"
  build "$opensearch_image" "$ctx/opensearch" --label "dev.demo-micro.recipe=$opensearch_recipe"
fi

shipper_image="demo-micro-airgap/log-shipper:$RSYSLOG_VERSION"
shipper_recipe=$(recipe_digest "$here/log-shipper" "$RSYSLOG_VERSION")
if present_recipe "$shipper_image" "$shipper_recipe"; then
  step "$shipper_image present"
else
  build "$shipper_image" "$here/log-shipper" --build-arg "RSYSLOG_VERSION=$RSYSLOG_VERSION" \
    --label "dev.demo-micro.recipe=$shipper_recipe"
fi
step "logging images ready"
