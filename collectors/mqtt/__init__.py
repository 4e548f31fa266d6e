"""MQTT collection: topic routes and payload decoding, and the subscribing collector."""

from collectors.mqtt.collector import MqttCollector, MqttCollectorSettings
from collectors.mqtt.payloads import PayloadError, TopicRouter

__all__ = ["MqttCollector", "MqttCollectorSettings", "PayloadError", "TopicRouter"]
