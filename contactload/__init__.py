"""contactload: bulk contact (lead) upload for outbound dialer campaigns."""
