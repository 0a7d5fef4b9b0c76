//! A typed layer over [`Map`]: keys and values as Rust values, converted to
//! and from the map's bytes (little-endian, as eBPF programs lay them out).
//!
//! ```
//! use bpfbox::maps::{Map, MapOptions, TypedMap};
//! use bpfbox_abi::maps::{update, MapDef, MapType};
//! let def = MapDef {
//!     map_type: MapType::Hash,
//!     key_size: 4,
//!     value_size: 8,
//!     max_entries: 16,
//!     flags: 0,
//! };
//! let map = Map::create("counts", def, &MapOptions::default())?;
//! let counts = TypedMap::<u32, u64>::new(map)?;
//! counts.insert(&1, &10, update::ANY)?;
//! assert_eq!(counts.get(&1)?, Some(10));
//! assert_eq!(counts.keys()?, vec![1]);
//! # Ok::<(), bpfbox::MapError>(())
//! ```

use super::{Map, MapError};
use bpfbox_abi::maps::update;
use std::marker::PhantomData;

/// A type that can be a map key: a fixed number of bytes.
pub trait MapKey: Sized {
    /// The size of its bytes.
    const SIZE: usize;
    /// Appends its bytes to `out`.
    fn write_bytes(&self, out: &mut Vec<u8>);
    /// Reads one from exactly [`MapKey::SIZE`] bytes; `None` for any other
    /// length or bytes that are not a valid value.
    fn from_bytes(bytes: &[u8]) -> Option<Self>;

    /// Its bytes.
    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::SIZE);
        self.write_bytes(&mut out);
        out
    }
}

/// A type that can be a map value (the same contract as [`MapKey`]).
pub trait MapValue: MapKey {}
impl<T: MapKey> MapValue for T {}

macro_rules! integers {
    ($($t:ty),*) => {$(
        impl MapKey for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            fn write_bytes(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn from_bytes(bytes: &[u8]) -> Option<Self> {
                Some(<$t>::from_le_bytes(bytes.try_into().ok()?))
            }
        }
    )*};
}
integers!(u8, u16, u32, u64, u128, i8, i16, i32, i64, i128);

/// The empty key of queues and stacks.
impl MapKey for () {
    const SIZE: usize = 0;
    fn write_bytes(&self, _: &mut Vec<u8>) {}
    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        bytes.is_empty().then_some(())
    }
}

impl<T: MapKey + Copy + Default, const N: usize> MapKey for [T; N] {
    const SIZE: usize = T::SIZE * N;
    fn write_bytes(&self, out: &mut Vec<u8>) {
        for item in self {
            item.write_bytes(out);
        }
    }
    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != Self::SIZE {
            return None;
        }
        let mut out = [T::default(); N];
        for (item, chunk) in out.iter_mut().zip(bytes.chunks_exact(T::SIZE.max(1))) {
            *item = T::from_bytes(chunk)?;
        }
        Some(out)
    }
}

/// A [`Map`] whose keys are `K` and values `V`.
#[derive(Clone, Debug)]
pub struct TypedMap<K, V> {
    map: Map,
    _types: PhantomData<fn(K) -> V>,
}

impl<K: MapKey, V: MapValue> TypedMap<K, V> {
    /// Wraps `map`, checking that `K` and `V` have its key and value sizes.
    ///
    /// # Errors
    /// [`MapError::KeySize`] or [`MapError::ValueSize`] when they differ.
    pub fn new(map: Map) -> Result<Self, MapError> {
        let def = map.def();
        if def.key_size as usize != K::SIZE {
            return Err(MapError::KeySize {
                expected: def.key_size as usize,
                got: K::SIZE,
            });
        }
        if def.value_size as usize != V::SIZE {
            return Err(MapError::ValueSize {
                expected: def.value_size as usize,
                got: V::SIZE,
            });
        }
        Ok(TypedMap {
            map,
            _types: PhantomData,
        })
    }

    /// The underlying map.
    pub fn map(&self) -> &Map {
        &self.map
    }

    fn value(bytes: &[u8]) -> Result<V, MapError> {
        V::from_bytes(bytes).ok_or(MapError::ValueSize {
            expected: V::SIZE,
            got: bytes.len(),
        })
    }

    /// The value under `key` ([`Map::lookup`]); for per-CPU maps use
    /// [`TypedMap::get_percpu`].
    ///
    /// # Errors
    /// As [`Map::lookup`]; [`MapError::ValueSize`] for a per-CPU map.
    pub fn get(&self, key: &K) -> Result<Option<V>, MapError> {
        self.map
            .lookup(&key.to_bytes())?
            .map(|bytes| Self::value(&bytes))
            .transpose()
    }

    /// Every CPU's value under `key`, in CPU order.
    ///
    /// # Errors
    /// As [`Map::lookup`].
    pub fn get_percpu(&self, key: &K) -> Result<Option<Vec<V>>, MapError> {
        let Some(bytes) = self.map.lookup(&key.to_bytes())? else {
            return Ok(None);
        };
        let stride = V::SIZE.next_multiple_of(8).max(1);
        bytes
            .chunks(stride)
            .map(|chunk| Self::value(&chunk[..V::SIZE.min(chunk.len())]))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// Creates or replaces ([`Map::update`] with `flags`).
    ///
    /// # Errors
    /// As [`Map::update`].
    pub fn insert(&self, key: &K, value: &V, flags: u64) -> Result<(), MapError> {
        self.map.update(&key.to_bytes(), &value.to_bytes(), flags)
    }

    /// Sets every CPU's value under `key` (`values` has one per CPU slot).
    ///
    /// # Errors
    /// As [`Map::update`]; [`MapError::ValueSize`] when `values` does not
    /// have one value per CPU slot.
    pub fn insert_percpu(&self, key: &K, values: &[V], flags: u64) -> Result<(), MapError> {
        let stride = V::SIZE.next_multiple_of(8);
        let mut bytes = Vec::with_capacity(stride * values.len());
        for value in values {
            value.write_bytes(&mut bytes);
            bytes.resize(bytes.len().next_multiple_of(8), 0);
        }
        self.map.update(&key.to_bytes(), &bytes, flags)
    }

    /// Deletes the element under `key`.
    ///
    /// # Errors
    /// As [`Map::delete`].
    pub fn remove(&self, key: &K) -> Result<(), MapError> {
        self.map.delete(&key.to_bytes())
    }

    /// Every key ([`Map::keys`]).
    ///
    /// # Errors
    /// As [`Map::keys`].
    pub fn keys(&self) -> Result<Vec<K>, MapError> {
        self.map
            .keys()?
            .iter()
            .map(|bytes| {
                K::from_bytes(bytes).ok_or(MapError::KeySize {
                    expected: K::SIZE,
                    got: bytes.len(),
                })
            })
            .collect()
    }
}

impl<V: MapValue> TypedMap<(), V> {
    /// Pushes onto a queue or stack ([`Map::push`]; `replace` is
    /// `BPF_EXIST`: drop the oldest value of a full map).
    ///
    /// # Errors
    /// As [`Map::push`].
    pub fn push(&self, value: &V, replace: bool) -> Result<(), MapError> {
        let flags = if replace { update::EXIST } else { update::ANY };
        self.map.push(&value.to_bytes(), flags)
    }

    /// Pops from a queue or stack ([`Map::pop`]).
    ///
    /// # Errors
    /// As [`Map::pop`].
    pub fn pop(&self) -> Result<Option<V>, MapError> {
        self.map.pop()?.map(|bytes| Self::value(&bytes)).transpose()
    }

    /// Peeks at a queue or stack ([`Map::peek`]).
    ///
    /// # Errors
    /// As [`Map::peek`].
    pub fn peek(&self) -> Result<Option<V>, MapError> {
        self.map
            .peek()?
            .map(|bytes| Self::value(&bytes))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Map, MapError, MapOptions};
    use super::{MapKey, TypedMap};
    use bpfbox_abi::maps::{update, MapDef, MapType};

    fn def(map_type: MapType, key_size: u32, value_size: u32) -> MapDef {
        MapDef {
            map_type,
            key_size,
            value_size,
            max_entries: 8,
            flags: 0,
        }
    }

    #[test]
    fn conversions() {
        assert_eq!(0x0102_0304u32.to_bytes(), [4, 3, 2, 1]);
        assert_eq!(i16::from_bytes(&[0xfe, 0xff]), Some(-2));
        assert_eq!(u32::from_bytes(&[1, 2]), None);
        assert_eq!([1u16, 2].to_bytes(), [1, 0, 2, 0]);
        assert_eq!(<[u16; 2]>::from_bytes(&[1, 0, 2, 0]), Some([1, 2]));
        assert_eq!(<[u16; 2]>::from_bytes(&[1, 0, 2]), None);
        assert_eq!(<[u8; 0]>::from_bytes(&[]), Some([]));
        assert_eq!(<()>::from_bytes(&[]), Some(()));
        assert_eq!(<[[u8; 2]; 2]>::SIZE, 4);
    }

    #[test]
    fn typed_hash() {
        let map = Map::create("h", def(MapType::Hash, 4, 8), &MapOptions::default()).unwrap();
        assert_eq!(
            TypedMap::<u64, u64>::new(map.clone()).unwrap_err(),
            MapError::KeySize {
                expected: 4,
                got: 8
            }
        );
        assert_eq!(
            TypedMap::<u32, u32>::new(map.clone()).unwrap_err(),
            MapError::ValueSize {
                expected: 8,
                got: 4
            }
        );
        let typed = TypedMap::<u32, u64>::new(map).unwrap();
        typed.insert(&7, &700, update::ANY).unwrap();
        typed.insert(&8, &800, update::NOEXIST).unwrap();
        assert_eq!(typed.get(&7).unwrap(), Some(700));
        assert_eq!(typed.get(&9).unwrap(), None);
        typed.remove(&7).unwrap();
        assert_eq!(typed.remove(&7).unwrap_err(), MapError::NotFound);
        assert_eq!(typed.keys().unwrap(), vec![8]);
        assert_eq!(
            typed.map().lookup(&8u32.to_bytes()).unwrap(),
            Some(800u64.to_bytes())
        );
    }

    #[test]
    fn typed_percpu_and_queue() {
        let options = MapOptions {
            cpus: 3,
            ..MapOptions::default()
        };
        let map = Map::create("p", def(MapType::PercpuArray, 4, 4), &options).unwrap();
        let typed = TypedMap::<u32, i32>::new(map).unwrap();
        typed.insert_percpu(&2, &[-1, 0, 5], update::ANY).unwrap();
        assert_eq!(typed.get_percpu(&2).unwrap(), Some(vec![-1, 0, 5]));
        assert_eq!(typed.get_percpu(&1).unwrap(), Some(vec![0, 0, 0]));
        assert_eq!(
            typed.insert_percpu(&2, &[1, 2], update::ANY).unwrap_err(),
            MapError::ValueSize {
                expected: 24,
                got: 16
            }
        );
        let queue = Map::create("q", def(MapType::Queue, 0, 2), &options).unwrap();
        let queue = TypedMap::<(), u16>::new(queue).unwrap();
        queue.push(&1, false).unwrap();
        queue.push(&2, false).unwrap();
        assert_eq!(queue.peek().unwrap(), Some(1));
        assert_eq!(queue.pop().unwrap(), Some(1));
        assert_eq!(queue.pop().unwrap(), Some(2));
        assert_eq!(queue.pop().unwrap(), None);
    }
}
