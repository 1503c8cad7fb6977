// SPDX-License-Identifier: GPL-2.0

//! `/proc/net` files per network namespace whose contents the namespace's
//! data prints: either whole, in one call (`proc_create_net_single()`), or
//! one record at a time through a `seq_file` iterator
//! (`proc_create_net_data()`), for tables too large to print in one go.
//!
//! C headers: [`include/linux/proc_fs.h`](srctree/include/linux/proc_fs.h),
//! [`include/linux/seq_file.h`](srctree/include/linux/seq_file.h),
//! [`include/linux/seq_file_net.h`](srctree/include/linux/seq_file_net.h)

use super::bindings as b;
use super::net::{Net, PernetData};
use core::ffi::c_void;
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use kernel::bindings::{loff_t, seq_file, seq_net_private, seq_operations};
use kernel::ffi::c_int;
use kernel::prelude::*;
use kernel::seq_file::SeqFile;

/// A `/proc/net` file printed whole by one call (see [`ProcFile::single`]).
pub(crate) trait ProcShow: 'static {
    /// The per-namespace data that prints it.
    type Data: PernetData;

    /// Prints the file's contents. Process context.
    fn show(data: &Self::Data, m: &SeqFile);
}

/// Who may read a `/proc/net` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Readers {
    /// Everyone (mode 0444), as IPVS's own files.
    All,
    /// The namespace's root only: mode 0440, owned by uid and gid 0 of the
    /// user namespace that owns the network namespace (as
    /// `/proc/net/nf_conntrack`), for files that name clients or hold
    /// secrets.
    NetRoot,
}

/// Where a walk over a table of buckets stands: a bucket, and a record's
/// index in it. Cursors order by bucket, then index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Cursor {
    /// The bucket.
    pub(crate) bucket: u32,
    /// The record's index in the bucket.
    pub(crate) index: u32,
}

impl Cursor {
    /// The first record of the table.
    pub(crate) const START: Cursor = Cursor {
        bucket: 0,
        index: 0,
    };

    /// The record after this one in the same bucket.
    pub(crate) fn next_index(self) -> Option<Cursor> {
        Some(Cursor {
            bucket: self.bucket,
            index: self.index.checked_add(1)?,
        })
    }

    /// The file position of this record: 0 is the header; record
    /// positions keep the cursor's order. `None` if it does not fit.
    fn to_pos(self) -> Option<loff_t> {
        if self.bucket >= 1 << 30 {
            return None;
        }
        Some(((loff_t::from(self.bucket) << 32) | loff_t::from(self.index)) + 1)
    }

    /// The cursor of file position `pos` (not the header's).
    fn from_pos(pos: loff_t) -> Option<Cursor> {
        let p = pos.checked_sub(1)?;
        if p < 0 {
            return None;
        }
        Some(Cursor {
            bucket: u32::try_from(p >> 32).ok()?,
            index: p as u32,
        })
    }
}

/// What [`ProcSeq::seek`] looks for.
pub(crate) enum Seek<'a, I> {
    /// The first record at or after the cursor.
    From(Cursor),
    /// The record `I`, found at the cursor, again (it did not fit in the
    /// last `read()`); if it is gone, as [`Seek::From`] the cursor.
    Again(Cursor, &'a I),
    /// The record after `I`, which was found at the cursor; if `I` is
    /// gone, as [`Seek::From`] the cursor's next index.
    After(Cursor, &'a I),
}

impl<I> Seek<'_, I> {
    /// The least cursor the record found is given: file positions only
    /// grow, even where removals moved the records of a bucket up.
    pub(crate) fn floor(&self) -> Option<Cursor> {
        match *self {
            Seek::From(c) | Seek::Again(c, _) => Some(c),
            Seek::After(c, _) => c.next_index(),
        }
    }
}

/// A `/proc/net` file of a header line and one line per record of a
/// table, read through a `seq_file` iterator (see [`ProcFile::seq`]):
/// however large the table, each `read()` prints only what fits in its
/// buffer and resumes at the [`Cursor`] the file position holds.
///
/// Records are looked up afresh at each step and copied
/// ([`ProcSeq::Item`]), so no lock is held between steps and a record
/// removed meanwhile is never touched. A step resumes after the record
/// found last, by its key ([`Seek::After`]): records added or removed
/// elsewhere while the file is read do not make it skip or repeat others;
/// only if that record itself went does it go on by its cursor (as IPVS's
/// `/proc/net/ip_vs_conn` always does), which may skip or repeat one.
pub(crate) trait ProcSeq: 'static {
    /// The per-namespace data that owns the table.
    type Data: PernetData;
    /// A copy of one record, kept in the open file between [`Self::seek`]
    /// and [`Self::show`] (never dropped: it must be plain data).
    type Item: Copy;

    /// Prints the header line. Process context.
    fn header(m: &SeqFile);

    /// The record `seek` asks for, with its cursor (its bucket and its
    /// place in the bucket now); `None` at the end of the table. Process
    /// context; may sleep.
    fn seek(
        data: &Self::Data,
        net: Net<'_>,
        seek: Seek<'_, Self::Item>,
    ) -> Option<(Cursor, Self::Item)>;

    /// Prints one record (one line). Process context.
    fn show(data: &Self::Data, net: Net<'_>, m: &SeqFile, item: &Self::Item);
}

/// A `/proc/net/NAME` file of one namespace, removed when dropped (which
/// waits for readers in flight).
///
/// # Invariants
///
/// The entry `name` exists in `net`'s `/proc/net` until dropped, and `net`
/// is alive as long as this object (it belongs to the namespace's data).
pub(crate) struct ProcFile {
    net: *mut kernel::bindings::net,
    name: &'static CStr,
}

// SAFETY: Removing the entry works from any process context.
unsafe impl Send for ProcFile {}
// SAFETY: Nothing is reachable through a shared reference.
unsafe impl Sync for ProcFile {}

impl Readers {
    /// The file's mode.
    const fn mode(self) -> u16 {
        match self {
            Readers::All => 0o444,
            Readers::NetRoot => 0o440,
        }
    }
}

impl ProcFile {
    /// Creates `/proc/net/<name>` in `net`, readable by `readers`, printed
    /// whole by `F::show`. Process context.
    pub(crate) fn single<F: ProcShow>(
        net: Net<'_>,
        name: &'static CStr,
        readers: Readers,
    ) -> Result<Self> {
        // SAFETY: `net` is alive; its `proc_net` directory exists while it
        // is; `name` is static; `show` matches the callback's type.
        let pde = unsafe {
            b::proc_create_net_single(
                name.as_char_ptr(),
                readers.mode(),
                (*net.as_raw()).proc_net,
                Some(show_single::<F>),
                core::ptr::null_mut(),
            )
        };
        Self::created(net, name, readers, pde)
    }

    /// Creates `/proc/net/<name>` in `net`, readable by `readers`, read
    /// through `F`'s iterator. Process context.
    pub(crate) fn seq<F: ProcSeq>(
        net: Net<'_>,
        name: &'static CStr,
        readers: Readers,
    ) -> Result<Self> {
        let ops = SeqOps::<F>::build();
        // SAFETY: `net` is alive; its `proc_net` directory exists while it
        // is; `name` and `ops` are static; the state size is that of
        // `SeqState<F::Item>`, which starts with `struct seq_net_private`
        // as `seq_open_net()` requires.
        let pde = unsafe {
            b::proc_create_net_data(
                name.as_char_ptr(),
                readers.mode(),
                (*net.as_raw()).proc_net,
                ops,
                SeqOps::<F>::STATE_SIZE,
                core::ptr::null_mut(),
            )
        };
        Self::created(net, name, readers, pde)
    }

    /// The file `pde` that [`Self::single`] or [`Self::seq`] created (null
    /// if it could not be), given its owner.
    fn created(
        net: Net<'_>,
        name: &'static CStr,
        readers: Readers,
        pde: *mut kernel::bindings::proc_dir_entry,
    ) -> Result<Self> {
        if pde.is_null() {
            return Err(ENOMEM);
        }
        if readers == Readers::NetRoot {
            // SAFETY: `pde` was just created in `net`'s `/proc/net` and is
            // removed only by this object's `Drop`; `net` is alive, and so
            // is its user namespace, which it holds a reference on.
            unsafe { set_net_root(pde, net.as_raw()) };
        }
        // INVARIANT: `pde` is the entry `name` in `net`'s `/proc/net`.
        Ok(Self {
            net: net.as_raw(),
            name,
        })
    }
}

impl Drop for ProcFile {
    fn drop(&mut self) {
        // SAFETY: The entry exists in the live namespace (type invariant).
        unsafe { b::remove_proc_entry(self.name.as_char_ptr(), (*self.net).proc_net) };
    }
}

/// The `show` callback of a [`ProcFile::single`] file.
///
/// # Safety
///
/// Called by the seq_file code with the file's `seq_file`, whose `private`
/// is the namespace (`proc_create_net_single()` sets it, and holds a
/// reference on it while the file is open).
unsafe extern "C" fn show_single<F: ProcShow>(seq: *mut seq_file, _v: *mut c_void) -> c_int {
    // SAFETY: `private` is the file's namespace (see above): alive.
    let net = unsafe { Net::from_raw((*seq).private.cast()) };
    // SAFETY: The seq_file is valid and used only by this call.
    let m = unsafe { SeqFile::from_raw(seq) };
    if let Some(data) = F::Data::of(net) {
        F::show(data, m);
    }
    0
}

/// The private state of an open [`ProcFile::seq`] file (`seq->private`,
/// zeroed and freed by `seq_open_net()` / `seq_release_net()`, which never
/// drop it).
///
/// # Invariants
///
/// If `at` is not 0, `item` holds a record (written by `seek_into`).
#[repr(C)]
struct SeqState<I> {
    /// What `seq_file_net()` reads: must come first.
    net: seq_net_private,
    /// The record `start`/`next` found last; what their non-token return
    /// value points to.
    item: MaybeUninit<I>,
    /// Its file position; 0 (as `kzalloc()` leaves it) until one was
    /// found.
    at: loff_t,
}

impl<I: Copy> SeqState<I> {
    /// The record found last and its file position.
    fn last(&self) -> Option<(loff_t, I)> {
        if self.at == 0 {
            return None;
        }
        // SAFETY: `at` is not 0, so `item` holds a record (type
        // invariant).
        let item = unsafe { self.item.assume_init() };
        Some((self.at, item))
    }
}

/// `SEQ_START_TOKEN`: the header's record.
const START_TOKEN: *mut c_void = core::ptr::without_provenance_mut(1);

/// The `seq_operations` of a [`ProcSeq`] type.
struct SeqOps<F>(PhantomData<F>);

impl<F: ProcSeq> SeqOps<F> {
    const OPS: seq_operations = seq_operations {
        start: Some(seq_start::<F>),
        stop: Some(seq_stop),
        next: Some(seq_next::<F>),
        show: Some(seq_show::<F>),
    };

    const STATE_SIZE: u32 = {
        // `__seq_open_private()` allocates it with `kzalloc()`, which
        // aligns to at least 8 bytes.
        assert!(align_of::<SeqState<F::Item>>() <= 8);
        assert!(size_of::<SeqState<F::Item>>() <= 4096);
        size_of::<SeqState<F::Item>>() as u32
    };

    const fn build() -> &'static seq_operations {
        &Self::OPS
    }
}

/// The namespace and the state of an open [`ProcFile::seq`] file.
///
/// # Safety
///
/// `seq` is the `seq_file` of such a file of `F`, in one of its callbacks
/// (which the seq_file code serialises with the file's mutex).
unsafe fn seq_parts<'a, F: ProcSeq>(seq: *mut seq_file) -> (Net<'a>, &'a mut SeqState<F::Item>) {
    // SAFETY: The file's namespace: `seq_open_net()` took a reference on
    // it for as long as the file is open.
    let net = unsafe { Net::from_raw(b::ipvsa_seq_file_net(seq)) };
    // SAFETY: `private` is the file's `SeqState<F::Item>` (its size was
    // given to `proc_create_net_data()`), allocated while the file is open
    // and used by no other code during the callback.
    let state = unsafe { &mut *(*seq).private.cast::<SeqState<F::Item>>() };
    (net, state)
}

/// Seeks as `seek` says; keeps the record found and its position, and
/// returns what the callback returns for it, storing its position in
/// `pos`.
fn seek_into<F: ProcSeq>(
    net: Net<'_>,
    state: &mut SeqState<F::Item>,
    seek: Option<Seek<'_, F::Item>>,
    pos: &mut loff_t,
) -> *mut c_void {
    let found = seek.and_then(|seek| {
        let floor = seek.floor()?;
        let (at, item) = F::seek(F::Data::of(net)?, net, seek)?;
        Some((at.max(floor).to_pos()?, item))
    });
    match found {
        Some((p, item)) => {
            *pos = p;
            state.item.write(item);
            // INVARIANT: `item` was written just above; `p` is not 0 (the
            // header's position).
            state.at = p;
            state.item.as_mut_ptr().cast()
        }
        None => core::ptr::null_mut(),
    }
}

/// `seq_operations.start`: the record at `pos`, the first a `read()`
/// prints (after the one found last, if `pos` is past it).
///
/// # Safety
///
/// Called by the seq_file code for a [`ProcFile::seq`] file of `F`.
unsafe extern "C" fn seq_start<F: ProcSeq>(seq: *mut seq_file, pos: *mut loff_t) -> *mut c_void {
    // SAFETY: A callback of such a file.
    let (net, state) = unsafe { seq_parts::<F>(seq) };
    // SAFETY: `pos` is the file's record index, valid for the call.
    let pos = unsafe { &mut *pos };
    if *pos == 0 {
        return START_TOKEN;
    }
    let last = state.last();
    let seek = match (Cursor::from_pos(*pos), &last) {
        // Found by the last `read()`, not printed yet.
        (Some(c), Some((at, item))) if *at == *pos => Some(Seek::Again(c, item)),
        // The last `read()` ended after it (`next` moved `pos` past it).
        (Some(_), Some((at, item))) if at.checked_add(1) == Some(*pos) => {
            Cursor::from_pos(*at).map(|c| Seek::After(c, item))
        }
        (c, _) => c.map(Seek::From),
    };
    seek_into::<F>(net, state, seek, pos)
}

/// `seq_operations.next`: the record after `v`, which is at `pos`.
///
/// # Safety
///
/// Called by the seq_file code for a [`ProcFile::seq`] file of `F`, with
/// what `start` or `next` returned last.
unsafe extern "C" fn seq_next<F: ProcSeq>(
    seq: *mut seq_file,
    v: *mut c_void,
    pos: *mut loff_t,
) -> *mut c_void {
    // SAFETY: A callback of such a file.
    let (net, state) = unsafe { seq_parts::<F>(seq) };
    // SAFETY: `pos` is the file's record index, valid for the call.
    let pos = unsafe { &mut *pos };
    let last = state.last();
    let seek = if v == START_TOKEN {
        Some(Seek::From(Cursor::START))
    } else {
        match (Cursor::from_pos(*pos), &last) {
            (Some(c), Some((at, item))) if *at == *pos => Some(Seek::After(c, item)),
            (c, _) => c.and_then(Cursor::next_index).map(Seek::From),
        }
    };
    let cur = *pos;
    let p = seek_into::<F>(net, state, seek, pos);
    if p.is_null() {
        // The seq_file code wants the position to move even at the end.
        *pos = cur.saturating_add(1);
    }
    p
}

/// `seq_operations.stop`: no lock is held between the calls.
///
/// # Safety
///
/// Called by the seq_file code.
unsafe extern "C" fn seq_stop(_seq: *mut seq_file, _v: *mut c_void) {}

/// `seq_operations.show`.
///
/// # Safety
///
/// Called by the seq_file code for a [`ProcFile::seq`] file of `F`, with
/// what `start` or `next` returned last (not null).
unsafe extern "C" fn seq_show<F: ProcSeq>(seq: *mut seq_file, v: *mut c_void) -> c_int {
    // SAFETY: The seq_file is valid and used only by this call.
    let m = unsafe { SeqFile::from_raw(seq) };
    if v == START_TOKEN {
        F::header(m);
        return 0;
    }
    // SAFETY: A callback of such a file.
    let (net, state) = unsafe { seq_parts::<F>(seq) };
    if v != state.item.as_mut_ptr().cast() {
        return 0;
    }
    // SAFETY: `v` is the slot, which `start` and `next` return only after
    // writing a record into it; nothing has changed it since.
    let item = unsafe { state.item.assume_init_ref() };
    if let Some(data) = F::Data::of(net) {
        F::show(data, net, m, item);
    }
    0
}

/// Makes uid and gid 0 of the user namespace that owns `net` the owner of
/// `/proc/net` file `pde`, if they are mapped (as `nf_conntrack_standalone.c`
/// does for `/proc/net/nf_conntrack`); else it stays the global root's.
///
/// # Safety
///
/// `pde` is a live `/proc` entry, `net` a live namespace.
unsafe fn set_net_root(
    pde: *mut kernel::bindings::proc_dir_entry,
    net: *mut kernel::bindings::net,
) {
    // SAFETY: `net` is live and holds a reference on its user namespace.
    let ns = unsafe { (*net).user_ns };
    // SAFETY: `ns` is a live user namespace; the mapping is only read.
    let (uid, gid) = unsafe {
        (
            kernel::bindings::make_kuid(ns, 0),
            kernel::bindings::make_kgid(ns, 0),
        )
    };
    // `uid_valid()`, `gid_valid()` (inlines): not `INVALID_UID`/`_GID` (-1).
    if uid.val != u32::MAX && gid.val != u32::MAX {
        // SAFETY: `pde` is live (the caller's guarantee).
        unsafe { b::proc_set_user(pde, uid, gid) };
    }
}

/// Prints a value of the pure crate, which implements `core::fmt::Display`
/// (the kernel's formatting macros take `kernel::fmt::Display`).
pub(crate) struct Show<T>(pub(crate) T);

impl<T: core::fmt::Display> kernel::fmt::Display for Show<T> {
    fn fmt(&self, f: &mut kernel::fmt::Formatter<'_>) -> kernel::fmt::Result {
        core::fmt::Display::fmt(&self.0, f)
    }
}
