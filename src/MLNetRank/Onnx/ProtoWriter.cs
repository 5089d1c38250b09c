using System;
using System.IO;
using System.Runtime.InteropServices;
using Google.Protobuf;

namespace MLNetRank.Onnx
{
    /// <summary>
    /// A minimal protobuf wire-format writer for one message, on top of Google.Protobuf's
    /// <see cref="CodedOutputStream"/>. Nested messages are written into their own <see cref="ProtoWriter"/>
    /// and embedded as length-delimited fields. Only what ONNX's ModelProto needs: varints, fixed32 floats,
    /// strings, bytes and sub-messages. Repeated scalars are written packed (protobuf parsers accept packed
    /// encoding for every repeated scalar field, proto2 included).
    /// </summary>
    internal sealed class ProtoWriter
    {
        private readonly MemoryStream _buffer = new MemoryStream();
        private readonly CodedOutputStream _out;

        public ProtoWriter() => _out = new CodedOutputStream(_buffer, leaveOpen: true);

        public void WriteInt64(int field, long value)
        {
            _out.WriteTag(field, WireFormat.WireType.Varint);
            _out.WriteInt64(value);
        }

        public void WriteInt32(int field, int value)
        {
            _out.WriteTag(field, WireFormat.WireType.Varint);
            _out.WriteInt32(value);
        }

        public void WriteFloat(int field, float value)
        {
            _out.WriteTag(field, WireFormat.WireType.Fixed32);
            _out.WriteFloat(value);
        }

        public void WriteString(int field, string value)
        {
            _out.WriteTag(field, WireFormat.WireType.LengthDelimited);
            _out.WriteString(value);
        }

        public void WriteBytes(int field, ReadOnlyMemory<byte> value)
        {
            _out.WriteTag(field, WireFormat.WireType.LengthDelimited);
            _out.WriteBytes(UnsafeByteOperations.UnsafeWrap(value));
        }

        public void WriteRawVarint(int field, ulong value)
        {
            _out.WriteTag(field, WireFormat.WireType.Varint);
            _out.WriteUInt64(value);
        }

        public void WriteRawFixed32(int field, uint value)
        {
            _out.WriteTag(field, WireFormat.WireType.Fixed32);
            _out.WriteFixed32(value);
        }

        public void WriteRawFixed64(int field, ulong value)
        {
            _out.WriteTag(field, WireFormat.WireType.Fixed64);
            _out.WriteFixed64(value);
        }

        public void WriteMessage(int field, ProtoWriter message) => WriteBytes(field, message.ToArray());

        public void WritePackedInt64(int field, ReadOnlySpan<long> values)
        {
            if (values.Length == 0)
                return;
            int size = 0;
            foreach (long v in values)
                size += CodedOutputStream.ComputeInt64Size(v);
            _out.WriteTag(field, WireFormat.WireType.LengthDelimited);
            _out.WriteLength(size);
            foreach (long v in values)
                _out.WriteInt64(v);
        }

        public void WritePackedFloat(int field, ReadOnlySpan<float> values)
        {
            if (values.Length == 0)
                return;
            _out.WriteTag(field, WireFormat.WireType.LengthDelimited);
            _out.WriteLength(values.Length * sizeof(float));
            foreach (float v in values)
                _out.WriteFloat(v);
        }

        /// <summary>The little-endian bytes of <paramref name="values"/> (ONNX <c>raw_data</c> is little-endian).</summary>
        public static byte[] LittleEndianBytes<T>(ReadOnlySpan<T> values) where T : unmanaged
        {
            if (!BitConverter.IsLittleEndian)
                throw new PlatformNotSupportedException("ONNX raw tensor data is little-endian; big-endian hosts are not supported.");
            return MemoryMarshal.AsBytes(values).ToArray();
        }

        public byte[] ToArray()
        {
            _out.Flush();
            return _buffer.ToArray();
        }
    }
}
