using System.Text;
using TrainManager.Extensions.TensorBoard;

namespace TrainManager.Tests.Extensions.TensorBoard;

public sealed class Crc32CTests
{
    [Fact]
    public void Standard_check_value_of_123456789_is_E3069283() =>
        Assert.Equal(0xE3069283u, Crc32C.Compute(Encoding.ASCII.GetBytes("123456789")));

    [Fact]
    public void Empty_input_has_crc_zero() => Assert.Equal(0u, Crc32C.Compute([]));

    [Fact]
    public void Inputs_longer_than_one_word_match_byte_by_byte_definition()
    {
        // Reference: the bitwise reflected CRC-32C (polynomial 0x82F63B78), independent of the hardware intrinsic.
        var data = Enumerable.Range(0, 37).Select(i => (byte)(i * 31 + 7)).ToArray();
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var bit = 0; bit < 8; bit++)
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
        }

        Assert.Equal(~crc, Crc32C.Compute(data));
    }

    [Fact]
    public void Mask_rotates_right_by_15_and_adds_the_tfrecord_constant() =>
        Assert.Equal(unchecked(((0x12345678u >> 15) | (0x12345678u << 17)) + 0xA282EAD8u), Crc32C.Mask(0x12345678u));
}
