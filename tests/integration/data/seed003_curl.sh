#!/usr/bin/env bash
# Seed 003's curl examples (Epic 8.1 "Quick Reference": Quick Examples, then Testing), each
# exactly as the seed prints it, in its order. tests/integration/test_filters_and_catalogs.py
# runs this file with the seed's server address (localhost:8084) replaced by the gateway's
# address and nothing else changed: $TOKEN is a tenant key, and {webhook_id} is filled in
# from the create example's answer, as a reader of the seed would. Every command must
# succeed (curl -f is not in the seed, so the test checks the answers it prints).
set -euo pipefail

# Create Webhook (cURL)
curl -X POST http://localhost:8084/api/v1/webhooks \
  -H "Authorization: Bearer $TOKEN" \
  -H "Content-Type: application/json" \
  -d '{
    "url": "https://example.com/webhook",
    "events": ["user.created", "subscription.created"],
    "description": "My webhook",
    "active": true
  }'
echo

# List Webhooks
curl http://localhost:8084/api/v1/webhooks \
  -H "Authorization: Bearer $TOKEN"
echo

# Test Webhook
curl -X POST http://localhost:8084/api/v1/webhooks/{webhook_id}/test \
  -H "Authorization: Bearer $TOKEN"
echo

# Get Delivery History
curl http://localhost:8084/api/v1/webhooks/{webhook_id}/deliveries \
  -H "Authorization: Bearer $TOKEN"
echo

# Testing: use webhook.site for testing
curl -X POST http://localhost:8084/api/v1/webhooks \
  -H "Authorization: Bearer $TOKEN" \
  -d '{
    "url": "https://webhook.site/your-unique-url",
    "events": ["*"],
    "description": "Test webhook"
  }'
echo
