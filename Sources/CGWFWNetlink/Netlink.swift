import CGWFWModel
import CNftnl
