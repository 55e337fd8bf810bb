"""The outside systems a message leaves through: e-mail over SMTP, SMS over an HTTP provider, and the
development SMTP sink; ``channels.Channels`` sends one claimed message on its channel."""
