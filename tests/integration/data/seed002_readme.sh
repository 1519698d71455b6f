#!/usr/bin/env bash
# Seed 002's README ("CLI Commands" of the SystemPrompt webhooks module), every command in
# the README's order, written as a user of that CLI (`prompt`) would script them.
# tests/integration/test_cli.py runs this file with `prompt` replaced by `hooklinectl` and
# nothing else changed. From the README: <webhook-id> and <delivery-id> are shell variables
# (the ids come from the commands' own output), the [optional] flags are all given, and
# after `webhooks:delete` the README's create line runs again so the "Testing and
# Monitoring" commands have a webhook to work on.
set -euo pipefail

# --- Webhook Management
# List all webhooks
prompt webhooks:list --status active --event agent.started --format json
prompt webhooks:list --status inactive

# Create a new webhook
WEBHOOK_ID=$(prompt webhooks:create --name "My Webhook" --url "https://example.com/webhook" \
  --events "agent.started,agent.failed" --method POST \
  --headers '{"X-Custom":"value"}' --auth-type bearer \
  --auth-credentials '{"token":"secret123"}' | awk '$1 == "id" { print $2 }')
echo "created $WEBHOOK_ID"

# Get webhook details
prompt webhooks:info "$WEBHOOK_ID" --format json

# Update webhook configuration
prompt webhooks:update "$WEBHOOK_ID" --name "New Name" --status inactive

# Delete a webhook
prompt webhooks:delete "$WEBHOOK_ID" --force

WEBHOOK_ID=$(prompt webhooks:create --name "My Webhook" --url "https://example.com/webhook" \
  --events "agent.started,agent.failed" --method POST \
  --headers '{"X-Custom":"value"}' --auth-type bearer \
  --auth-credentials '{"token":"secret123"}' | awk '$1 == "id" { print $2 }')
echo "created $WEBHOOK_ID"

# --- Testing and Monitoring
# Test a webhook with sample payload
prompt webhooks:test "$WEBHOOK_ID"

# View delivery history
prompt webhooks:deliveries "$WEBHOOK_ID" --limit 50 --format json

# View webhook statistics
prompt webhooks:stats "$WEBHOOK_ID" --format json

# Manually trigger an event
prompt webhooks:trigger --event "custom" --data '{"message":"test"}' \
  --metadata '{"source":"cli"}'

# --- Delivery Management
# Retry a failed delivery
DELIVERY_ID=$(prompt webhooks:deliveries "$WEBHOOK_ID" --limit 1 --format json |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["data"][0]["id"])')
prompt webhooks:retry --webhook "$WEBHOOK_ID" --delivery "$DELIVERY_ID"

# Pause webhook (set inactive)
prompt webhooks:pause "$WEBHOOK_ID"

# Resume webhook (set active)
prompt webhooks:resume "$WEBHOOK_ID"
