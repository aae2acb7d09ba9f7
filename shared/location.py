"""A place as every service's API takes it: an address, optional coordinates inside Belgium,
an optional neighbourhood. One schema, so an incident and a graffiti site are given alike."""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

# Belgium's bounding box, with a little margin: a coordinate outside is a typo or a foreign place.
BELGIUM_LAT = (49.49, 51.51)
BELGIUM_LON = (2.54, 6.41)


class LocationSchema(Schema):
    address = fields.String(required=True, validate=validate.Length(min=3, max=300))
    lat = fields.Float(load_default=None, allow_none=True)
    lon = fields.Float(load_default=None, allow_none=True)
    neighbourhood = fields.String(load_default=None, allow_none=True,
                                  validate=validate.Length(max=100))

    @validates_schema
    def inside_belgium(self, data, **kwargs):
        lat, lon = data.get("lat"), data.get("lon")
        if (lat is None) != (lon is None):
            raise ValidationError("Give both lat and lon, or neither.", "lat")
        if lat is None:
            return
        if not (BELGIUM_LAT[0] <= lat <= BELGIUM_LAT[1]):
            raise ValidationError("Latitude is outside Belgium.", "lat")
        if not (BELGIUM_LON[0] <= lon <= BELGIUM_LON[1]):
            raise ValidationError("Longitude is outside Belgium.", "lon")
