#!/bin/sh
# Write mosquitto's password file from the environment (.env), then run the broker.
# Two accounts: the plantroom collectors, and the devices (gateways, simulators).
set -eu
: "${MQTT_USER:?set MQTT_USER in .env}"
: "${MQTT_PASSWORD:?set MQTT_PASSWORD in .env}"
: "${MQTT_DEVICE_USER:?set MQTT_DEVICE_USER in .env}"
: "${MQTT_DEVICE_PASSWORD:?set MQTT_DEVICE_PASSWORD in .env}"

passwd=/mosquitto/data/passwd
umask 077
rm -f "$passwd"
touch "$passwd"
mosquitto_passwd -b "$passwd" "$MQTT_USER" "$MQTT_PASSWORD"
mosquitto_passwd -b "$passwd" "$MQTT_DEVICE_USER" "$MQTT_DEVICE_PASSWORD"
chown mosquitto:mosquitto "$passwd" /mosquitto/data
chmod 0700 "$passwd"

exec mosquitto -c /mosquitto/config/mosquitto.conf
