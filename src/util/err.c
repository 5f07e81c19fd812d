/* Names for the shared error codes. */
#include "pimgate/err.h"

const char *
pim_strerror(int code)
{
	switch (code) {
	case PIM_OK:
		return "ok";
	case PIM_ERR:
		return "failed";
	case PIM_ENOTFOUND:
		return "not found";
	case PIM_EEXIST:
		return "already exists";
	case PIM_EINVAL:
		return "invalid input";
	case PIM_ESTORE:
		return "store failure";
	case PIM_EDENIED:
		return "denied";
	case PIM_ECRYPTO:
		return "crypto failure";
	case PIM_EIO:
		return "I/O error";
	case PIM_ENOMEM:
		return "out of memory";
	case PIM_EBUSY:
		return "busy";
	default:
		return "unknown error";
	}
}
