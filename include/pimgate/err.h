/* Error codes shared by every module. Functions that can fail return one
 * of these (0 on success); text for people goes out separately. */
#ifndef PIMGATE_ERR_H
#define PIMGATE_ERR_H

enum pim_err {
	PIM_OK = 0,
	PIM_ERR = -1, /* unspecified failure */
	PIM_ENOTFOUND = -2, /* no such row, file or name */
	PIM_EEXIST = -3, /* already exists */
	PIM_EINVAL = -4, /* bad input */
	PIM_ESTORE = -5, /* the store failed: fail closed */
	PIM_EDENIED = -6, /* refused by policy */
	PIM_ECRYPTO = -7, /* sealing, opening or verifying failed */
	PIM_EIO = -8, /* file or socket I/O failed */
	PIM_ENOMEM = -9,
	PIM_EBUSY = -10, /* the store is locked; try again later */
};

/* Returns a short constant name for CODE ("not found", ...). */
const char *pim_strerror(int code);

#endif
