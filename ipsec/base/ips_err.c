#include "ips_err.h"

static const char *const ips_err_text[IPS_E_COUNT] = {
#define IPS_ERR_TEXT(name, text) [IPS_E_##name] = text,
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
