"""The audit log: who saw or changed what (read by auditors)."""
