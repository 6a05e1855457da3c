//! [`Items`]: where each item of a format lands in the record, and the padding before it.

use core::iter::FusedIterator;

use super::Format;
use super::parse::Layout;

/// One `<count><code>` item of a format, laid out as CPython lays it out.
///
/// In native mode (`@` or no prefix) an item starts at the next multiple of its C alignment,
/// and the bytes skipped to get there are [`padding`](Self::padding); standard modes
/// (`= < > !`) align nothing. CPython adds no padding after the last item, so a record's size
/// is the last item's `offset + size`.
///
/// ```
/// use portsock_core::wire::structfmt::Format;
///
/// let native: Vec<_> = Format::parse("I 2s f")?.items().map(|i| (i.offset, i.padding)).collect();
/// assert_eq!(native, [(0, 0), (4, 0), (8, 2)]); // 'f' waits for a multiple of 4
/// let packed: Vec<_> = Format::parse("=I 2s f")?.items().map(|i| i.offset).collect();
/// assert_eq!(packed, [0, 4, 6]);
/// # Ok::<(), portsock_core::wire::structfmt::FormatError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Item {
    /// The format code (`'I'`, `'s'`, `'x'`...).
    pub code: char,
    /// The repeat count as written (1 when none is; `0s` is 0).
    pub count: usize,
    /// Where the item's first byte is in the record.
    pub offset: usize,
    /// Bytes the item takes: `count` times the code's size (`count` itself for `s` and `p`).
    pub size: usize,
    /// The alignment the item was placed at (1 under a standard prefix).
    pub align: usize,
    /// Alignment padding between the end of the previous item and this one.
    pub padding: usize,
    /// Values the item takes and yields (0 for `x`, 1 for `s` and `p`).
    pub values: usize,
}

/// The items of a [`Format`], in order; made by [`Format::items`].
#[derive(Debug, Clone)]
pub struct Items<'a> {
    layout: Layout<'a>,
    /// The end of the previous item.
    end: usize,
}

impl<'a> Format<'a> {
    /// Each item's offset, size, alignment and the padding before it (the layout behind
    /// [`size`](Self::size)).
    pub fn items(&self) -> Items<'a> {
        Items {
            layout: self.layout(),
            end: 0,
        }
    }

    /// `true` for native mode (`@` or no prefix): native sizes, alignment and byte order.
    pub fn is_native(&self) -> bool {
        self.mode == super::parse::Mode::Native
    }

    /// `true` if the record's integers and floats are big-endian.
    pub fn is_big_endian(&self) -> bool {
        match self.mode {
            super::parse::Mode::Native => cfg!(target_endian = "big"),
            super::parse::Mode::Standard { big } => big,
        }
    }
}

impl Iterator for Items<'_> {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        // A validated format cannot fail here; stop rather than panic if it did.
        let run = self.layout.next()?.ok()?;
        let end = self.layout.offset();
        let item = Item {
            code: char::from(run.code),
            count: run.count,
            offset: run.offset,
            size: end.saturating_sub(run.offset),
            align: run.align,
            padding: run.offset.saturating_sub(self.end),
            values: run.values,
        };
        self.end = end;
        Some(item)
    }
}

impl FusedIterator for Items<'_> {}
