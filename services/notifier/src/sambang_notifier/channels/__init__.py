"""The ways a message leaves the notifier: e-mail over SMTP, SMS over an HTTP provider, and the dev SMTP sink."""
