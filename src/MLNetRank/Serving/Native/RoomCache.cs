using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;

namespace MLNetRank.Serving.Native
{
    /// <summary>
    /// The per-room cache of the native transformer: a room's layer-1 query/key/value projections (summary + room tokens,
    /// in the lanes of the running kernel width) depend on the room's token ids and their order alone, so requests that
    /// score the same room (same ids in the same segments) share them. Keyed by the kernel width, the per-segment token
    /// counts and the ids (the recency positions follow from them). Bounded: at most <see cref="Capacity"/> rooms; when it
    /// is full, the cache is emptied and refills (a room's entry is 3·d·16 floats per 16 tokens, 3 KB at d = 16). Thread-safe
    /// (a <see cref="ConcurrentDictionary{TKey, TValue}"/>; lookups do not allocate). An entry is computed by the same code
    /// as a miss, so a hit scores exactly as a miss.
    /// </summary>
    internal sealed class RoomCache
    {
        private readonly ConcurrentDictionary<uint[], float[]> _entries;
        private readonly ConcurrentDictionary<uint[], float[]>.AlternateLookup<ReadOnlySpan<uint>> _lookup;
        private long _hits, _misses, _clears;

        public RoomCache(int capacity)
        {
            if (capacity <= 0)
                throw new ArgumentOutOfRangeException(nameof(capacity), "A room cache needs a positive capacity.");
            Capacity = capacity;
            _entries = new ConcurrentDictionary<uint[], float[]>(KeyComparer.Instance);
            _lookup = _entries.GetAlternateLookup<ReadOnlySpan<uint>>();
        }

        public int Capacity { get; }

        public int Count => _entries.Count;

        public long Hits => Interlocked.Read(ref _hits);

        public long Misses => Interlocked.Read(ref _misses);

        /// <summary>How many times the cache was full and emptied.</summary>
        public long Clears => Interlocked.Read(ref _clears);

        /// <summary>The entry of <paramref name="key"/>, or null (a miss).</summary>
        public float[]? TryGet(ReadOnlySpan<uint> key)
        {
            if (_lookup.TryGetValue(key, out var entry))
            {
                Interlocked.Increment(ref _hits);
                return entry;
            }
            Interlocked.Increment(ref _misses);
            return null;
        }

        /// <summary>Stores an entry (the caller filled it); empties the cache first when it holds <see cref="Capacity"/> rooms.</summary>
        public void Add(ReadOnlySpan<uint> key, float[] entry)
        {
            if (_entries.Count >= Capacity)
            {
                _entries.Clear();
                Interlocked.Increment(ref _clears);
            }
            _entries.TryAdd(key.ToArray(), entry);
        }

        private sealed class KeyComparer : IEqualityComparer<uint[]>, IAlternateEqualityComparer<ReadOnlySpan<uint>, uint[]>
        {
            public static readonly KeyComparer Instance = new KeyComparer();

            public bool Equals(uint[]? x, uint[]? y) => ReferenceEquals(x, y) || (x is not null && y is not null && x.AsSpan().SequenceEqual(y));

            public int GetHashCode(uint[] obj) => Hash(obj);

            public bool Equals(ReadOnlySpan<uint> alternate, uint[] other) => alternate.SequenceEqual(other);

            public int GetHashCode(ReadOnlySpan<uint> alternate) => Hash(alternate);

            public uint[] Create(ReadOnlySpan<uint> alternate) => alternate.ToArray();

            private static int Hash(ReadOnlySpan<uint> key)
            {
                var h = new HashCode();
                h.AddBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(key));
                return h.ToHashCode();
            }
        }
    }
}
