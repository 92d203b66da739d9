#include <stddef.h>

#include "ike_wire.h"

/* Registries are small: a linear scan keeps one source of truth. */
#define NAME_FN(fn, LIST) \
	const char *fn(unsigned v) \
	{ \
		switch (v) { \
			LIST(NAME_CASE) \
		default: \
			return NULL; \
		} \
	}
#define NAME_CASE(e, v, n) \
	case v: \
		return n;

NAME_FN(isakmp_payload_name, ISAKMP_PAYLOADS)
NAME_FN(isakmp_exchange_name, ISAKMP_EXCHANGES)
NAME_FN(isakmp_notify_name, ISAKMP_NOTIFIES)
NAME_FN(isakmp_proto_name, ISAKMP_PROTOS)
NAME_FN(isakmp_id_type_name, ISAKMP_ID_TYPES)
NAME_FN(ike_attr_name, IKE_ATTRS)
NAME_FN(ipsec_attr_name, IPSEC_ATTRS)
