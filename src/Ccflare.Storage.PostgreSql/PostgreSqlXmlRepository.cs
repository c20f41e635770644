using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Npgsql;

namespace Ccflare.Storage.PostgreSql;

/// <summary>
/// Data Protection key ring in <c>data_protection_keys</c>: every replica reads and adds keys there.
/// The first key is created at start-up under an advisory lock (<see cref="PostgreSqlKeyRingInitializer"/>),
/// so replicas starting together share it; later keys are created ahead of use (Data Protection activates
/// a new key two days after creating it), which leaves every replica time to read it.
/// </summary>
internal sealed class PostgreSqlXmlRepository(PostgreSqlStore store) : IXmlRepository
{
    public IReadOnlyCollection<XElement> GetAllElements()
    {
        using var connection = store.OpenSynchronously();
        using var command = new NpgsqlCommand($"SELECT xml FROM {store.QuotedSchema}.data_protection_keys ORDER BY seq;", connection);
        using var reader = command.ExecuteReader();
        var elements = new List<XElement>();
        while (reader.Read())
        {
            elements.Add(XElement.Parse(reader.GetString(0)));
        }
        return elements;
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        ArgumentNullException.ThrowIfNull(element);
        using var connection = store.OpenSynchronously();
        using var command = new NpgsqlCommand($"INSERT INTO {store.QuotedSchema}.data_protection_keys (friendly_name, xml) VALUES (@name, @xml);", connection);
        command.Parameters.AddWithValue("name", (object?)friendlyName ?? DBNull.Value);
        command.Parameters.AddWithValue("xml", element.ToString(SaveOptions.DisableFormatting));
        command.ExecuteNonQuery();
    }
}
