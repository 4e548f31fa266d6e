#!/bin/bash
# Runs once, when the influxdb container first sets itself up (DOCKER_INFLUXDB_INIT_MODE=setup).
# 1. The DBRP mapping: InfluxQL (plantroom's reads, Grafana's panels) addresses the bucket as
#    database "$DOCKER_INFLUXDB_INIT_BUCKET", retention policy "autogen".
# 2. A read-only v1 user for Grafana's InfluxQL datasource.
set -euo pipefail

influx v1 dbrp create \
  --org "$DOCKER_INFLUXDB_INIT_ORG" \
  --bucket-id "$DOCKER_INFLUXDB_INIT_BUCKET_ID" \
  --db "$DOCKER_INFLUXDB_INIT_BUCKET" \
  --rp autogen \
  --default

influx v1 auth create \
  --org "$DOCKER_INFLUXDB_INIT_ORG" \
  --read-bucket "$DOCKER_INFLUXDB_INIT_BUCKET_ID" \
  --username "$GRAFANA_INFLUX_USER" \
  --password "$GRAFANA_INFLUX_PASSWORD"
