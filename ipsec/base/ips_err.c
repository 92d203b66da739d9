#include "ips_err.h"

static const char *const ips_err_text[IPS_E_COUNT] = {
#define IPS_ERR_TEXT(name, text, notify) [IPS_E_##name] = text,
    IPS_ERRORS(IPS_ERR_TEXT)
#undef IPS_ERR_TEXT
};

const char *
ips_strerror(enum ips_err err)
{
	if ((unsigned)err >= IPS_E_COUNT)
		return "unknown error";
	return ips_err_text[err];
}

static const unsigned short ips_err_notify_tab[IPS_E_COUNT] = {
#define IPS_ERR_NOTIFY(name, text, notify) [IPS_E_##name] = notify,
    IPS_ERRORS(IPS_ERR_NOTIFY)
#undef IPS_ERR_NOTIFY
};

unsigned
ips_err_notify(enum ips_err err)
{
	if ((unsigned)err >= IPS_E_COUNT)
		return 0;
	return ips_err_notify_tab[err];
}
