// SPDX-License-Identifier: GPL-2.0

//! Netfilter socket options (`struct nf_sockopt_ops`): `setsockopt()` and
//! `getsockopt()` on any socket of a family, in a range of option numbers,
//! answered in the socket's network namespace.
//!
//! C header: [`include/linux/netfilter.h`](srctree/include/linux/netfilter.h)

use super::bindings as b;
use super::net::Net;
use core::ffi::c_void;
use core::marker::PhantomData;
use kernel::error::{from_result, to_result};
use kernel::ffi::c_int;
use kernel::prelude::*;
use kernel::types::Opaque;
use kernel::uaccess::{UserPtr, UserSlice};

/// The argument of a `setsockopt()`: `len` bytes, from user space or from
/// the kernel (BPF), read only by copying.
///
/// # Invariants
///
/// `arg` describes `len` readable bytes for the duration of the call.
pub(crate) struct SetArg<'a> {
    arg: kernel::bindings::sockptr_t,
    len: usize,
    _life: PhantomData<&'a ()>,
}

impl SetArg<'_> {
    /// Its length.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Copies the first `out.len()` bytes (at most [`Self::len`]).
    pub(crate) fn read(&self, out: &mut [u8]) -> Result {
        if out.len() > self.len {
            return Err(EINVAL);
        }
        // SAFETY: `out` is valid for its length; `arg` for `len` bytes
        // (type invariant), of which we read no more.
        let ret =
            unsafe { b::ipvsa_copy_from_sockptr(out.as_mut_ptr().cast(), self.arg, out.len()) };
        if ret == 0 {
            Ok(())
        } else {
            Err(EFAULT)
        }
    }
}

/// The buffer of a `getsockopt()`: what the caller gave, and the length it
/// said it has, which the answer sets.
pub(crate) struct GetBuf<'a> {
    user: UserPtr,
    len: &'a mut c_int,
}

impl GetBuf<'_> {
    /// The length the caller said its buffer has (negative: 0).
    pub(crate) fn capacity(&self) -> usize {
        usize::try_from(*self.len).unwrap_or(0)
    }

    /// Copies `data` (no more than [`Self::capacity`]) to the caller and
    /// sets the length to what was written.
    pub(crate) fn write(&mut self, data: &[u8]) -> Result {
        if data.len() > self.capacity() {
            return Err(EINVAL);
        }
        UserSlice::new(self.user, data.len())
            .writer()
            .write_slice(data)?;
        *self.len = c_int::try_from(data.len()).map_err(|_| EINVAL)?;
        Ok(())
    }
}

/// What answers a range of socket options.
pub(crate) trait Sockopts: 'static {
    /// The socket family (`PF_INET`).
    const PF: u8;
    /// Option numbers `setsockopt()` may use: `first .. end`.
    const SET: (c_int, c_int);
    /// Option numbers `getsockopt()` may use: `first .. end`.
    const GET: (c_int, c_int);

    /// `setsockopt(optval)` on a socket of namespace `net`. Process context.
    fn set(net: Net<'_>, optval: c_int, arg: &SetArg<'_>) -> Result;

    /// `getsockopt(optval)` on a socket of namespace `net`. Process context.
    fn get(net: Net<'_>, optval: c_int, buf: &mut GetBuf<'_>) -> Result;
}

/// A registration of `T`'s socket options; unregistered when dropped.
///
/// # Invariants
///
/// `ops` is registered with `nf_register_sockopt()` until dropped.
#[pin_data(PinnedDrop)]
pub(crate) struct Registration<T: Sockopts> {
    #[pin]
    ops: Opaque<b::nf_sockopt_ops>,
    _t: PhantomData<T>,
}

// SAFETY: Registration and unregistration work from any process context.
unsafe impl<T: Sockopts> Send for Registration<T> {}
// SAFETY: Nothing is reachable through a shared reference.
unsafe impl<T: Sockopts> Sync for Registration<T> {}

impl<T: Sockopts> Registration<T> {
    /// Registers `T`. Process context. A module's `init` makes this its
    /// last step that can fail (see `drop`).
    pub(crate) fn new() -> Result<Pin<KBox<Self>>> {
        KBox::pin_init(
            try_pin_init!(Self {
                ops <- Opaque::try_ffi_init(|ops: *mut b::nf_sockopt_ops| {
                    // SAFETY: `ops` is valid for writes. The owner makes
                    // netfilter hold a reference on this module during calls.
                    unsafe {
                        ops.write(b::nf_sockopt_ops {
                            pf: T::PF,
                            set_optmin: T::SET.0,
                            set_optmax: T::SET.1,
                            set: Some(set::<T>),
                            get_optmin: T::GET.0,
                            get_optmax: T::GET.1,
                            get: Some(get::<T>),
                            owner: <crate::LocalModule as kernel::ModuleMetadata>::THIS_MODULE
                                .as_ptr(),
                            ..Default::default()
                        })
                    };
                    // SAFETY: Initialised and pinned while registered.
                    to_result(unsafe { b::nf_register_sockopt(ops) })
                }),
                _t: PhantomData,
            }),
            GFP_KERNEL,
        )
    }
}

#[pinned_drop]
impl<T: Sockopts> PinnedDrop for Registration<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: Registered (type invariant). Unregistering only unlinks
        // the ops; it does not wait for calls in flight. Each call holds a
        // reference on the ops' owner, this module (`nf_sockopt_find()`
        // takes it), so none runs once the module's exit has begun; the
        // module registers these last in its `init` and so never drops them
        // in a failing one, whose code is freed without waiting.
        unsafe { b::nf_unregister_sockopt(self.ops.get()) };
    }
}

/// The namespace of socket `sk`, which the call holds.
///
/// # Safety
///
/// `sk` must be a live socket for `'a`.
unsafe fn sock_net<'a>(sk: *mut kernel::bindings::sock) -> Net<'a> {
    // SAFETY: A live socket holds its namespace (`sock_net()`).
    unsafe { Net::from_raw(b::ipvsa_sock_net(sk)) }
}

/// `nf_sockopt_ops.set`.
///
/// # Safety
///
/// Called by netfilter with a live socket and an argument of `len` bytes.
unsafe extern "C" fn set<T: Sockopts>(
    sk: *mut kernel::bindings::sock,
    optval: c_int,
    arg: kernel::bindings::sockptr_t,
    len: core::ffi::c_uint,
) -> c_int {
    from_result(|| {
        // SAFETY: A live socket for the call.
        let net = unsafe { sock_net(sk) };
        // INVARIANT: Netfilter passes `len` readable bytes.
        let arg = SetArg {
            arg,
            len: len as usize,
            _life: PhantomData,
        };
        T::set(net, optval, &arg)?;
        Ok(0)
    })
}

/// `nf_sockopt_ops.get`.
///
/// # Safety
///
/// Called by netfilter with a live socket, the caller's buffer and its
/// length.
unsafe extern "C" fn get<T: Sockopts>(
    sk: *mut kernel::bindings::sock,
    optval: c_int,
    user: *mut c_void,
    len: *mut c_int,
) -> c_int {
    from_result(|| {
        // SAFETY: A live socket for the call.
        let net = unsafe { sock_net(sk) };
        // SAFETY: `len` is the kernel's copy of the length, ours for the
        // call.
        let len = unsafe { &mut *len };
        let mut buf = GetBuf {
            user: UserPtr::from_ptr(user),
            len,
        };
        T::get(net, optval, &mut buf)?;
        Ok(0)
    })
}
