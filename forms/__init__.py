"""See DESIGN.md: this app's surface lands with its issue."""
